"""A migration through PostgreSQL outages: the workers live on and the result is the same.

    python benchmarks/database_restarts.py --server pg_ctlcluster --units 50000 --repos 100 \\
        --workers 2 --outage-seconds 60 --steps migrate_content.iso create_publications

Runs on a server of its own (never the shared cluster), of the kind --server names, restarted
with its own tools: ``pg_ctl`` on a data folder in a temporary folder; ``pg_ctlcluster`` on a
Debian cluster it makes with ``pg_createcluster`` (--cluster-name, --cluster-port) and drops at
the end; the embedded server (pgserver, what ``demo`` uses), stopped with its ``pg_ctl`` and
started by its own start-up. Once while a task of each of --steps runs, the server is restarted
(--outage-seconds 0: ``restart``) or stopped for --outage-seconds and started again. All the
while the outage lasts the script asks the API (a real ``pulp2to3 api``) for the report, the
task list and a content-app path, and notes every answer and how long it took; after each it
notes how long until the API answers 200 and until the next batch is recorded. At the end: the
workers' processes are the ones it started, the report is completed, and the target equals what
the sample must give (the tests' comparison). With --baseline, the same migration runs first
without faults, for the extra time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import asyncpg
import common

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' helpers

from pulp2to3 import runner
from pulp2to3.sample import SampleSummary, generate_sample
from tests.migration_support import MigrationState, actual_state, expected_state
from tests.ports_support import free_port
from tests.private_postgres_support import (
    KINDS,
    RestartableServer,
    database_on,
    debian_cluster,
    restartable_server,
)

STATUS = "/pulp/api/v3/status/"
TASKS = "/pulp/api/v3/tasks/"
CONTENT_APP = "/pulp/content/any/file.iso"
USER, PASSWORD = "admin", secrets.token_urlsafe(12)


async def query(url: str, sql: str, *args: object) -> object:
    """One value, on a connection of its own (the server restarts under us); None while the
    server is away."""
    try:
        connection = await asyncpg.connect(url)
    except (OSError, asyncpg.PostgresError):
        return None
    try:
        return await connection.fetchval(sql, *args)
    finally:
        await connection.close()


async def batches_recorded(url: str) -> int:
    count = await query(url, "SELECT count(*) FROM migration_batch_progress")
    return int(count) if isinstance(count, int) else -1


async def api_answer(session: aiohttp.ClientSession, path: str) -> tuple[int, float, str]:
    """The API's status code for ``path``, how long it took, and its Retry-After."""
    started = time.monotonic()
    async with session.get(path) as response:
        await response.read()
        return response.status, time.monotonic() - started, response.headers.get("Retry-After", "")


async def answers_200(session: aiohttp.ClientSession, path: str) -> bool:
    try:
        status, _, _ = await api_answer(session, path)
    except aiohttp.ClientConnectionError:  # not listening yet
        return False
    return status == 200


async def step_running(url: str, step_code: str) -> bool:
    running = await query(
        url,
        "SELECT count(*) > 0 FROM migration_task t JOIN procrastinate_jobs j ON j.id = t.job_id"
        " WHERE j.status = 'doing' AND t.step_code = $1",
        step_code,
    )
    return running is True


async def run(
    server: RestartableServer,
    sample: SampleSummary,
    work: Path,
    workers: int,
    steps: list[str],
    outage_seconds: float,
) -> MigrationState:
    """Migrate ``sample`` with an outage during each of ``steps``; the target's state."""
    label = f"{len(steps)} outage(s) of {outage_seconds:g} s" if steps else "no fault"
    async with database_on(server) as url:
        media = work / "media"
        api_bind = f"127.0.0.1:{free_port()}"
        env = common.migration_environment(
            url, sample, media, admin_user=USER, admin_password=PASSWORD, api_bind=api_bind
        )
        api = runner.api_process(env)
        auth = {"Authorization": aiohttp.encode_basic_auth(USER, PASSWORD)}
        try:
            with runner.worker_processes(workers, env) as processes:
                pids = [p.pid for p in processes]
                async with aiohttp.ClientSession(f"http://{api_bind}", headers=auth) as session:
                    await common.wait_for(lambda: answers_200(session, STATUS), "the API to listen")
                    async with runner.connection_to(url) as connection:
                        started = time.monotonic()
                        migration_id = await runner.submit(connection, sample.plan_path.read_text())
                    href = f"/pulp/api/v3/migrationreport/{migration_id}/"
                    for step in steps:
                        await fault(server, url, session, href, step, outage_seconds)
                    async with runner.pool_to(url) as pool:
                        report = await runner.watch(pool, migration_id, lambda *_: None)
                elapsed = time.monotonic() - started
                alive = [p.pid for p in processes if p.poll() is None]
                async with runner.connection_to(url) as connection:
                    actual = await actual_state(connection, media)
        finally:
            runner.stop_processes([api])
    same = actual == expected_state(sample)
    print(
        f"{label}: {report.status} in {elapsed:.1f} s; workers alive {len(alive)}/{len(pids)}"
        f" (same pids: {alive == pids}); target as expected: {same}",
        flush=True,
    )
    return actual


def interrupt(server: RestartableServer, outage_seconds: float) -> None:
    """The fault: a restart, or the server away for ``outage_seconds``."""
    if outage_seconds == 0:
        server.restart()
    else:
        server.stop()
        time.sleep(outage_seconds)
        server.start()


async def fault(
    server: RestartableServer,
    url: str,
    session: aiohttp.ClientSession,
    href: str,
    step: str,
    outage_seconds: float,
) -> None:
    await common.wait_for(lambda: step_running(url, step), f"a task of {step} to run")
    before = await batches_recorded(url)
    outage = asyncio.ensure_future(asyncio.to_thread(interrupt, server, outage_seconds))
    answers: list[tuple[int, float, str]] = []
    while not outage.done():
        for path in (href, TASKS, CONTENT_APP):
            answers.append(await api_answer(session, path))
        await asyncio.sleep(0.1)
    await outage
    api_back = await common.wait_for(lambda: answers_200(session, href), "the API to answer again")

    async def more_batches() -> bool:
        return await batches_recorded(url) > before

    resumed = await common.wait_for(more_batches, "a batch to be recorded")
    print(
        f"outage during {step}: the API answered {describe(answers)}; once back, the API"
        f" answered 200 after {api_back:.1f} s and the next batch was recorded after"
        f" {resumed:.1f} s",
        flush=True,
    )


def describe(answers: list[tuple[int, float, str]]) -> str:
    """``503 x40 (Retry-After 5) in 1-12 ms, 200 x3 ...``: the answers by status."""
    parts = []
    for status in sorted({s for s, _, _ in answers}):
        times = [t * 1000 for s, t, _ in answers if s == status]
        retry_after = sorted({r for s, _, r in answers if s == status})
        parts.append(
            f"{status} x{len(times)} (Retry-After {'/'.join(retry_after) or 'none'})"
            f" in {min(times):.0f}-{max(times):.0f} ms"
        )
    return ", ".join(parts)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--server", choices=KINDS, default="pg_ctl", help="how it is restarted")
    parser.add_argument("--cluster-name", default="faults", help="with --server pg_ctlcluster")
    parser.add_argument("--cluster-port", type=int, default=5491, help="the same")
    parser.add_argument("--units", type=int, default=50_000)
    parser.add_argument("--repos", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--steps",
        nargs="*",
        default=["migrate_content.iso", "create_publications"],
        help="one outage while a task of each of these steps runs",
    )
    parser.add_argument("--outage-seconds", type=float, default=60)
    parser.add_argument("--baseline", action="store_true", help="first a run without faults")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "pulp2to3-bench")
    args = parser.parse_args()
    sample_dir = args.work / f"sample-{args.repos}-{args.units}"
    shutil.rmtree(sample_dir, ignore_errors=True)
    sample = generate_sample(sample_dir, repos=args.repos, units=args.units, seed=1)
    servers = (
        debian_cluster(args.cluster_name, args.cluster_port)
        if args.server == "pg_ctlcluster"
        else restartable_server(args.server)
    )
    print(f"{args.server}; load average {os.getloadavg()[0]:.1f}", flush=True)
    with servers as server:
        undisturbed = (
            await run(server, sample, args.work, args.workers, [], 0) if args.baseline else None
        )
        faulted = await run(
            server, sample, args.work, args.workers, args.steps, args.outage_seconds
        )
    if undisturbed is not None:
        print(f"target as the undisturbed run's: {faulted == undisturbed}")


if __name__ == "__main__":
    asyncio.run(main())
