"""End-to-end migration time, per-step times and peak memory, with 1 and 2 worker processes.

    python benchmarks/migration.py --units 100000 --repos 200 --workers 1 2
    python benchmarks/migration.py --plugins rpm --units 100000 --repos 100 --workers 1 2

Generates the sample once (in --work), then for each worker count: a fresh database on the
server of PULP2TO3_BENCH_SERVER_URL (default: the local cluster), `pulp2to3 api` and N
`pulp2to3 worker` processes, one migration submitted the way `pulp2to3 migrate` does it, and
the report polled until it ends. Peak RSS is each process's VmHWM from /proc.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path

import asyncpg
import common

from pulp2to3 import runner
from pulp2to3.sample import SampleSummary, generate_sample
from pulp2to3.schema import init_db

SERVER_URL = os.environ.get("PULP2TO3_BENCH_SERVER_URL", common.LOCAL_SERVER)


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def fresh_database() -> str:
    url = await common.create_database(SERVER_URL)
    connection = await asyncpg.connect(url)
    try:
        await init_db(connection)
    finally:
        await connection.close()
    return url


async def measure(sample: SampleSummary, work: Path, workers: int) -> None:
    url = await fresh_database()
    env = common.migration_environment(
        url,
        sample,
        work / f"media-{workers}",
        admin_password=secrets.token_urlsafe(12),
        api_bind="127.0.0.1:24899",
    )
    api = runner.api_process(env)
    try:
        with runner.worker_processes(workers, env) as processes:
            async with runner.pool_to(url) as pool, pool.acquire() as connection:
                plan = (sample.plan_path).read_text()
                started = time.monotonic()
                migration_id = await runner.submit(connection, plan)
                report = await runner.watch(pool, migration_id, lambda *_: None)
                elapsed = time.monotonic() - started
            worker_rss = [peak_rss_mib(p.pid) for p in processes]
        api_rss = peak_rss_mib(api.pid)
    finally:
        runner.stop_processes([api])
    print(f"\n{workers} worker(s): {report.status} in {elapsed:.1f} s end to end")
    for step in report.steps:
        took = (
            (step.finished_at - step.started_at).total_seconds()
            if step.started_at and step.finished_at
            else float("nan")
        )
        rate = step.done / took if took else float("nan")
        print(
            f"  {step.code:<40} {took:7.1f} s  {step.done:>8}/{step.total:<8}"
            f" ({rate:,.0f}/s, {len(step.job_ids)} tasks)"
        )
    print(
        f"  peak RSS: api {api_rss:.0f} MiB; workers "
        + ", ".join(f"{r:.0f} MiB" for r in worker_rss)
    )
    await common.drop_database(SERVER_URL, url)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=100_000)
    parser.add_argument("--repos", type=int, default=200)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--plugins", nargs="+", default=["iso"], help="iso, rpm or both")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "pulp2to3-bench")
    args = parser.parse_args()
    sample_dir = args.work / f"sample-{'-'.join(args.plugins)}-{args.repos}-{args.units}"
    shutil.rmtree(sample_dir, ignore_errors=True)
    started = time.monotonic()
    sample = generate_sample(
        sample_dir, repos=args.repos, units=args.units, seed=1, plugins=args.plugins
    )
    print(f"sample: {args.units} units, {args.repos} repos in {time.monotonic() - started:.1f} s")
    for count in args.workers:
        await measure(sample, args.work, count)


if __name__ == "__main__":
    asyncio.run(main())
