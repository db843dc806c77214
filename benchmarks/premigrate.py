"""Time premigrate: ``python benchmarks/premigrate.py --units 100000 [--parts [--connections 2]]``.

Generates a sample (or takes an existing one's folder: ``--dump``), creates a scratch database
with the schema on the server named by ``PULP2TO3_DATABASE_URL`` (default: the local cluster),
stages the dump into it (a first run, then a re-run that finds nothing changed) and drops the
database. Each run also reports the longest stall of the event loop (a task that ticks every
10 ms): premigrate reads the dump in a thread so that a worker's heartbeats and abort checks go
on during the load.

By default the whole dump is one load, in one transaction; ``--parts`` loads the step's planned
parts, each in its transaction, then merges the premigrate_merge step's key ranges (one per
connection), each in its transaction, on ``--connections`` connections at once (as that many
workers run them; one by default), and prints each batch's time. How the steps shorten with real
workers: ``benchmarks/migration.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import tempfile
import time
from pathlib import Path

import asyncpg
import common

from pulp2to3 import database
from pulp2to3.actors import premigrate
from pulp2to3.actors.premigrate import premigrate_dump
from pulp2to3.actors.steps import Batch, Migration, Step
from pulp2to3.plan import parse_plan
from pulp2to3.sample import SampleSummary
from pulp2to3.schema import init_db
from pulp2to3.settings import load_settings


async def _longest_stall(stop: asyncio.Event) -> float:
    """Tick every 10 ms until ``stop``; the longest time between two ticks."""
    longest = 0.0
    last = time.perf_counter()
    while not stop.is_set():
        await asyncio.sleep(0.01)
        now = time.perf_counter()
        longest = max(longest, now - last)
        last = now
    return longest


@dataclasses.dataclass(frozen=True)
class Sample:
    dump_path: Path
    pulp_root: Path
    plan_path: Path
    documents: int | None  # those premigrate reads, when the generator said


async def _run_batches(
    connections: list[asyncpg.Connection], migration: Migration, step: Step, batches: list[Batch]
) -> tuple[float, list[float]]:
    """Run the batches on the connections at once, each taking the next batch when it is done,
    each batch in its transaction; the wall time, and each batch's."""
    queue = list(batches)
    times: list[float] = []

    async def work(connection: asyncpg.Connection) -> None:
        while queue:
            batch = queue.pop(0)
            started = time.perf_counter()
            async with connection.transaction():
                await step.work(connection, migration, batch.args)
            times.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(work(connection) for connection in connections))
    return time.perf_counter() - started, times


async def _stage(connections: list[asyncpg.Connection], migration: Migration, parts: bool) -> str:
    """Stage the dump: whole, or its planned parts then the merge's key ranges (one per
    connection); what each phase took."""
    connection = connections[0]
    if not parts:
        async with connection.transaction():
            await premigrate_dump(connection, migration, {})
        return ""
    async with connection.transaction():
        batches = await premigrate.STEP.plan_batches(connection, migration)
    load, load_times = await _run_batches(connections, migration, premigrate.STEP, batches)
    ranges = premigrate.merge_batches(len(connections))
    merge, merge_times = await _run_batches(connections, migration, premigrate.MERGE_STEP, ranges)
    return (
        f"; parts {load:.2f} s ({', '.join(f'{t:.2f}' for t in load_times)}),"
        f" merge {merge:.2f} s ({', '.join(f'{t:.2f}' for t in merge_times)})"
    )


async def _bench(
    server: str, sample: Sample, runs: int, parts: bool, connection_count: int
) -> None:
    async with common.scratch_database(server) as url:
        connections = [await database.connect(url) for _ in range(connection_count)]
        try:
            await init_db(connections[0])
            plan = json.loads(sample.plan_path.read_text())
            migration_id = await common.start_migration(connections[0], plan)
            settings = dataclasses.replace(
                load_settings(), pulp2_dump=sample.dump_path, pulp2_root=sample.pulp_root
            )
            migration = Migration(id=migration_id, plan=parse_plan(plan), settings=settings)
            for number in range(1, runs + 1):
                stop = asyncio.Event()
                ticker = asyncio.create_task(_longest_stall(stop), name="bench_ticker")
                started = time.perf_counter()
                try:
                    phases = await _stage(connections, migration, parts)
                finally:
                    stop.set()
                elapsed = time.perf_counter() - started
                rate = (
                    f"{sample.documents:,} documents in {elapsed:.2f} s, "
                    f"{sample.documents / elapsed:,.0f} documents/s"
                    if sample.documents
                    else f"{elapsed:.2f} s"
                )
                print(
                    f"run {number}: {rate}; longest event-loop stall {await ticker:.3f} s{phases}"
                )
        finally:
            for connection in connections:
                await connection.close()


def _generated(summary: SampleSummary) -> Sample:
    documents = sum(
        count
        for collection, count in summary.collection_counts.items()
        if collection not in ("users", "task_status")
    )
    return Sample(summary.dump_path, summary.pulp_root, summary.plan_path, documents)


def _existing(folder: Path) -> Sample:
    """A sample ``migration.py`` or the generator wrote in ``folder``."""
    dump = folder / "dump"
    archive = dump / "pulp_database.archive"
    return Sample(
        archive if archive.exists() else dump, folder / "pulp", folder / "plan.json", None
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    common.add_sample_arguments(parser)
    parser.add_argument("--runs", type=int, default=2, help="the first stages, the others re-run")
    parser.add_argument("--parts", action="store_true", help="the planned parts, then the merge")
    parser.add_argument(
        "--connections",
        type=int,
        default=1,
        help="with --parts: run the batches on this many connections at once, the merge cut in"
        " as many key ranges",
    )
    parser.add_argument(
        "--dump", type=Path, help="an existing sample's folder (dump/, pulp/, plan.json)"
    )
    args = parser.parse_args()
    server = os.environ.get("PULP2TO3_DATABASE_URL") or common.LOCAL_SERVER
    if args.dump is not None:
        print(f"sample: {args.dump}")
        asyncio.run(_bench(server, _existing(args.dump), args.runs, args.parts, args.connections))
        return
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        summary = common.generate_sample_of(Path(scratch), args)
        print(
            f"sample: {summary.units:,} units, {summary.memberships:,} memberships, "
            f"{summary.lazy_entries:,} catalog entries, {common.sample_form(args)}, "
            f"generated in {time.perf_counter() - started:.1f} s"
        )
        sample = _generated(summary)
        asyncio.run(_bench(server, sample, args.runs, args.parts, args.connections))


if __name__ == "__main__":
    main()
