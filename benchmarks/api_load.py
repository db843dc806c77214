"""The API under load while a migration runs (docs/reliability.md).

The local cluster, a scratch database per run; a ``pulp2to3 api`` process and ``--workers``
``pulp2to3 worker`` processes migrate a generated sample twice: once with no load, once while
``--clients`` concurrent clients GET the migration's report, the task list and the running tasks
(each client sends its next request when the last was answered). Reported: requests, errors
(any answer but 200), p50/p99 latency, and the migration's time in both runs.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import common

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' helpers

from pulp2to3 import runner
from pulp2to3.sample import SampleSummary, generate_sample
from pulp2to3.schema import init_db
from tests.load_support import Load, apply_load
from tests.migration_support import actual_state, expected_state
from tests.ports_support import free_port

API = "/pulp/api/v3/"
USER, PASSWORD = "admin", secrets.token_urlsafe(12)


async def api_up(session: aiohttp.ClientSession, base: str) -> None:
    for _ in range(300):
        try:
            async with session.get(f"{base}{API}status/") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit("the API did not answer within 30 s")


async def run(sample: SampleSummary, work: Path, workers: int, clients: int) -> None:
    bind = f"127.0.0.1:{free_port()}"
    base = f"http://{bind}"
    async with common.scratch_database(common.LOCAL_SERVER) as url:
        async with runner.connection_to(url) as connection:
            await init_db(connection)
        media = work / "media"
        env = common.migration_environment(
            url, sample, media, admin_user=USER, admin_password=PASSWORD, api_bind=bind
        )
        api = runner.api_process(env)
        auth = {"Authorization": aiohttp.encode_basic_auth(USER, PASSWORD)}
        load = Load()
        try:
            with runner.worker_processes(workers, env):
                async with aiohttp.ClientSession(headers=auth) as session:
                    await api_up(session, base)
                    async with runner.pool_to(url) as pool:
                        started = time.monotonic()
                        async with pool.acquire() as connection:
                            migration_id = await runner.submit(
                                connection, sample.plan_path.read_text()
                            )
                        urls = [
                            f"{base}{API}migrationreport/{migration_id}/",
                            f"{base}{API}tasks/",
                            f"{base}{API}tasks/?state=running",
                        ]
                        stop = asyncio.Event()
                        loading = asyncio.create_task(apply_load(session, urls, clients, stop))
                        report = await runner.watch(pool, migration_id, lambda *_: None)
                        elapsed = time.monotonic() - started
                        stop.set()
                        load = await loading
                    async with runner.connection_to(url) as connection:
                        same = await actual_state(connection, media) == expected_state(sample)
        finally:
            runner.stop_processes([api])
    figures = ""
    if load.latencies:
        rate = len(load.latencies) / elapsed
        figures = (
            f"; {len(load.latencies)} requests answered ({rate:.0f}/s), {len(load.errors)} errors,"
            f" p50 {load.percentile(0.5) * 1000:.1f} ms, p99 {load.percentile(0.99) * 1000:.1f} ms"
        )
    print(
        f"{clients} clients: migration {report.status} in {elapsed:.1f} s, target as expected:"
        f" {same}{figures}",
        flush=True,
    )
    for error in load.errors[:5]:
        print(f"  {error}", flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=50_000)
    parser.add_argument("--repos", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "pulp2to3-load")
    args = parser.parse_args()
    sample_dir = args.work / f"sample-{args.repos}-{args.units}"
    shutil.rmtree(sample_dir, ignore_errors=True)
    sample = generate_sample(sample_dir, repos=args.repos, units=args.units, seed=1)
    await run(sample, args.work, args.workers, 0)
    await run(sample, args.work, args.workers, args.clients)


if __name__ == "__main__":
    asyncio.run(main())
