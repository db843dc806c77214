"""A worker cut off from PostgreSQL mid-batch, and a worker on a slow link (docs/reliability.md).

A private server (never the shared cluster) listens on loopback and on the host's end of a veth
pair; one ``pulp2to3 worker`` runs in a network namespace and reaches it over the veth.

``--fault cut``: that worker and ``--workers - 1`` others on loopback migrate a generated sample;
``--cuts`` times in a row, once the namespaced worker runs a task of one of ``--steps``, its link
goes down (``ip link set down``); once its job has been run again elsewhere and at least
``--cut-seconds`` have passed, the link comes back, the worker registers again, and the next cut
waits for its next task. Reported: for each cut, when its job was retried and finished
elsewhere, what the worker did when the link came back; the number of cuts; the migration's
time beside an undisturbed run, and whether the target and the counters are the expected ones.

``--fault delay``: the namespaced worker alone migrates the sample through a proxy on the veth
that adds ``--delay-ms`` to every round trip, beside the same run through the proxy without
delay.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import common

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' helpers

from pulp2to3 import runner
from pulp2to3.coordination import FINISHED_MIGRATION_STATUSES, MigrationStatus
from pulp2to3.sample import SampleSummary, generate_sample
from pulp2to3.store import migrations
from tests.delay_proxy_support import DelayProxy
from tests.kill_loop_support import WORKER_COMMAND
from tests.migration_support import actual_state, expected_state
from tests.netns_support import Namespace, namespace, why_no_namespace
from tests.private_postgres_support import PrivateServer, database_on, private_server

PROXY_PORT = 15432


async def value(url: str, sql: str, *args: object) -> Any:
    async with runner.connection_to(url) as connection:
        return await connection.fetchval(sql, *args)


def events(log: Path, name: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == name]


async def migrate(url: str, sample: SampleSummary) -> tuple[float, str, str]:
    """Run the sample's migration on the workers already running: its time, its status, and
    each step's time."""
    started = time.monotonic()
    async with runner.pool_to(url) as pool:
        async with pool.acquire() as connection:
            migration_id = await runner.submit(connection, sample.plan_path.read_text())
        report = await runner.watch(pool, migration_id, lambda *_: None)
    steps = ", ".join(
        f"{step.code} {(step.finished_at - step.started_at).total_seconds():.1f} s"
        for step in report.steps
        if step.started_at and step.finished_at
    )
    return time.monotonic() - started, report.status, steps


async def counted_once(url: str, sample: SampleSummary) -> bool:
    """Whether every unit was counted once and nothing failed."""
    counted = await value(
        url,
        "SELECT sum(done) FROM migration_batch_progress WHERE step_code = 'migrate_content.iso'",
    )
    failed = await value(url, "SELECT coalesce(sum(failed), 0) FROM migration_batch_progress")
    return bool(counted == sample.units and failed == 0)


async def run_cut(
    server: PrivateServer,
    ns: Namespace,
    sample: SampleSummary,
    work: Path,
    workers: int,
    steps: list[str],
    cuts: int,
    cut_seconds: float,
) -> None:
    cut_count = 0
    async with database_on(server) as url:
        media = work / "media"
        env = common.migration_environment(url, sample, media)
        ns_env = env | {"PULP2TO3_DATABASE_URL": url.replace("127.0.0.1", ns.host_address)}
        log = work / "namespaced-worker.log"
        log.unlink(missing_ok=True)
        cut_off = ns.start(WORKER_COMMAND, ns_env, log)
        try:
            await common.wait_for(
                lambda: registered(url, 1), "the namespaced worker to register", within=60
            )
            worker_id = await value(url, "SELECT max(id) FROM procrastinate_workers")
            with runner.worker_processes(workers - 1, env) as others:
                started = time.monotonic()
                async with runner.connection_to(url) as connection:
                    migration_id = await runner.submit(connection, sample.plan_path.read_text())
                while cut_count < cuts:
                    back_as = await cut(url, ns, log, worker_id, steps, cut_seconds, migration_id)
                    if back_as is None:
                        break
                    worker_id, cut_count = back_as, cut_count + 1
                async with runner.pool_to(url) as pool:
                    report = await runner.watch(pool, migration_id, lambda *_: None)
                elapsed = time.monotonic() - started
                alive = sum(p.poll() is None for p in [cut_off, *others])
            async with runner.connection_to(url) as connection:
                same = await actual_state(connection, media) == expected_state(sample)
            exact = await counted_once(url, sample)
        finally:
            runner.stop_processes([cut_off])
    label = f"{cut_count} cut(s) of {cut_seconds:g} s or more" if cuts else "no fault"
    print(
        f"{label}: {report.status} in {elapsed:.1f} s; processes alive {alive}/{workers};"
        f" target as expected: {same}; counters exact: {exact}",
        flush=True,
    )


async def registered(url: str, count: int) -> bool:
    return bool(await value(url, "SELECT count(*) >= $1 FROM procrastinate_workers", count))


async def cut(
    url: str,
    ns: Namespace,
    log: Path,
    worker_id: int,
    steps: list[str],
    cut_seconds: float,
    migration_id: uuid.UUID,
) -> int | None:
    """Cut the namespaced worker's link while it runs a task of one of ``steps``; restore it
    once its jobs finished elsewhere and ``cut_seconds`` passed; return the worker's id once it
    is registered again (None: the migration ended first, no cut)."""

    async def running_step() -> str | None:
        step: str | None = await value(
            url,
            "SELECT min(t.step_code) FROM migration_task t JOIN procrastinate_jobs j"
            " ON j.id = t.job_id WHERE j.status = 'doing' AND t.step_code = ANY($1)"
            " AND j.worker_id = $2",
            steps,
            worker_id,
        )
        return step

    async def migration_over() -> bool:
        async with runner.connection_to(url) as connection:
            report = await migrations.get_migration(connection, migration_id)
        assert report is not None
        return MigrationStatus(report.status) in FINISHED_MIGRATION_STATUSES

    async def running_or_over() -> bool:
        return await running_step() is not None or await migration_over()

    await common.wait_for(running_or_over, "the namespaced worker to run a task of --steps")
    step = await running_step()
    if step is None:
        print("no more cuts: the migration ended first", flush=True)
        return None
    ns.cut()
    cut_at = time.monotonic()
    held = await value(
        url,
        "SELECT array_agg(id) FROM procrastinate_jobs WHERE status = 'doing' AND worker_id = $1",
        worker_id,
    )
    held = list(held or [])

    async def retried() -> bool:
        count = await value(
            url,
            "SELECT count(*) FROM procrastinate_jobs WHERE id = ANY($1) AND status = 'doing'"
            " AND worker_id = $2",
            held,
            worker_id,
        )
        return count == 0

    async def finished() -> bool:
        count = await value(
            url,
            "SELECT count(*) FROM procrastinate_jobs WHERE id = ANY($1)"
            " AND status IN ('todo', 'doing')",
            held,
        )
        return count == 0

    await common.wait_for(retried, "the held jobs to be retried")
    retried_after = time.monotonic() - cut_at
    await common.wait_for(finished, "the held jobs to finish elsewhere", within=600)
    finished_after = time.monotonic() - cut_at
    if (remaining := cut_seconds - (time.monotonic() - cut_at)) > 0:
        await asyncio.sleep(remaining)
    taken_before = len(events(log, "job_taken_over"))
    registered_before = len(events(log, "worker_registered_again"))
    ns.restore()
    restored_at = time.monotonic()

    async def back() -> bool:
        return len(events(log, "worker_registered_again")) > registered_before

    async def all_ended() -> bool:
        return len(events(log, "job_taken_over")) - taken_before >= len(held)

    ended_after = await common.wait_for(all_ended, "its stale attempts to end", within=120)
    await common.wait_for(back, "the worker to register again", within=120)
    back_after = time.monotonic() - restored_at
    taken = [e["job_id"] for e in events(log, "job_taken_over")[taken_before:]]
    new_id: int = events(log, "worker_registered_again")[-1]["worker_id"]
    print(
        f"cut during {step}: held jobs {held}; retried {retried_after:.1f} s after the cut and"
        f" finished elsewhere {finished_after:.1f} s after it; link restored after"
        f" {restored_at - cut_at:.1f} s; then the worker refused its stale attempts {taken}"
        f" within {ended_after:.1f} s and registered again within {back_after:.1f} s",
        flush=True,
    )
    return new_id


async def run_delay(
    server: PrivateServer, ns: Namespace, sample: SampleSummary, work: Path, delay_ms: float
) -> None:
    async with database_on(server) as url:
        media = work / "media"
        env = common.migration_environment(url, sample, media)
        proxied = url.replace(f"127.0.0.1:{server.port}", f"{ns.host_address}:{PROXY_PORT}")
        log = work / "namespaced-worker.log"
        listen, target = (ns.host_address, PROXY_PORT), ("127.0.0.1", server.port)
        async with DelayProxy(listen, target, delay_ms / 1000):
            worker = ns.start(WORKER_COMMAND, env | {"PULP2TO3_DATABASE_URL": proxied}, log)
            try:
                elapsed, status, steps = await migrate(url, sample)
            finally:
                runner.stop_processes([worker])
        async with runner.connection_to(url) as connection:
            same = await actual_state(connection, media) == expected_state(sample)
        exact = await counted_once(url, sample)
    print(
        f"one namespaced worker, {delay_ms:g} ms added to each round trip: {status} in"
        f" {elapsed:.1f} s ({steps}); target as expected: {same}; counters exact: {exact}",
        flush=True,
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fault", choices=["cut", "delay"], required=True)
    parser.add_argument("--units", type=int, default=50_000)
    parser.add_argument("--repos", type=int, default=100)
    parser.add_argument("--workers", type=int, default=3, help="--fault cut: in all")
    parser.add_argument(
        "--steps", nargs="*", default=["migrate_content.iso", "create_publications"]
    )
    parser.add_argument("--cuts", type=int, default=1, help="--fault cut: cuts in a row")
    parser.add_argument(
        "--cut-seconds", type=float, default=30, help="--fault cut: each cut lasts at least"
    )
    parser.add_argument("--delay-ms", type=float, default=50)
    parser.add_argument("--baseline", action="store_true", help="first a run without fault")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "pulp2to3-net")
    args = parser.parse_args()
    if (reason := why_no_namespace()) is not None:
        raise SystemExit(reason)
    sample_dir = args.work / f"sample-{args.repos}-{args.units}"
    shutil.rmtree(sample_dir, ignore_errors=True)
    sample = generate_sample(sample_dir, repos=args.repos, units=args.units, seed=1)
    with namespace() as ns:
        listen = ("127.0.0.1", ns.host_address)
        with private_server(listen=listen, trust=(ns.network,)) as server:
            if args.fault == "cut":
                if args.baseline:
                    await run_cut(server, ns, sample, args.work, args.workers, [], 0, 0)
                await run_cut(
                    server,
                    ns,
                    sample,
                    args.work,
                    args.workers,
                    args.steps,
                    args.cuts,
                    args.cut_seconds,
                )
            else:
                if args.baseline:
                    await run_delay(server, ns, sample, args.work, 0)
                await run_delay(server, ns, sample, args.work, args.delay_ms)


if __name__ == "__main__":
    # A SIGTERM unwinds like an error: the servers, processes and namespace are cleaned up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    asyncio.run(main())
