"""Time premigrate: ``python benchmarks/premigrate.py --units 100000 [--parts]``.

Generates a sample, creates a scratch database with the schema on the server named by
``PULP2TO3_DATABASE_URL`` (default: the local cluster), stages the dump into it (a first run,
then a re-run that finds nothing changed) and drops the database. Each run also reports the
longest stall of the event loop (a task that ticks every 10 ms): premigrate reads the dump in a
thread so that a worker's heartbeats and abort checks go on during the load.

By default the whole dump is one load, in one transaction; ``--parts`` loads the step's planned
parts one after the other, each in its transaction (as one worker runs them), and prints each
part's time (the last one's includes the merge). How they shorten with workers:
``benchmarks/migration.py``.
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
from pulp2to3.actors.steps import Migration
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


async def _stage(connection: asyncpg.Connection, migration: Migration, parts: bool) -> list[float]:
    """Stage the dump (whole, or its planned parts one after the other); each part's time."""
    if not parts:
        async with connection.transaction():
            await premigrate_dump(connection, migration, {})
        return []
    async with connection.transaction():
        batches = await premigrate.STEP.plan_batches(connection, migration)
    times = []
    for batch in batches:
        started = time.perf_counter()
        async with connection.transaction():
            await premigrate_dump(connection, migration, batch.args)
        times.append(time.perf_counter() - started)
    return times


async def _bench(server: str, summary: SampleSummary, runs: int, parts: bool) -> None:
    async with common.scratch_database(server) as url:
        connection = await database.connect(url)
        try:
            await init_db(connection)
            plan = json.loads(summary.plan_path.read_text())
            migration_id = await common.start_migration(connection, plan)
            settings = dataclasses.replace(
                load_settings(), pulp2_dump=summary.dump_path, pulp2_root=summary.pulp_root
            )
            migration = Migration(id=migration_id, plan=parse_plan(plan), settings=settings)
            documents = sum(
                count
                for collection, count in summary.collection_counts.items()
                if collection not in ("users", "task_status")
            )
            for number in range(1, runs + 1):
                stop = asyncio.Event()
                ticker = asyncio.create_task(_longest_stall(stop), name="bench_ticker")
                started = time.perf_counter()
                try:
                    times = await _stage(connection, migration, parts)
                finally:
                    stop.set()
                elapsed = time.perf_counter() - started
                print(
                    f"run {number}: {documents:,} documents in {elapsed:.2f} s, "
                    f"{documents / elapsed:,.0f} documents/s; "
                    f"longest event-loop stall {await ticker:.3f} s"
                    + (f"; parts {', '.join(f'{t:.2f}' for t in times)} s" if parts else "")
                )
        finally:
            await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    common.add_sample_arguments(parser)
    parser.add_argument("--runs", type=int, default=2, help="the first stages, the others re-run")
    parser.add_argument("--parts", action="store_true", help="the planned parts, one by one")
    args = parser.parse_args()
    server = os.environ.get("PULP2TO3_DATABASE_URL") or common.LOCAL_SERVER
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        summary = common.generate_sample_of(Path(scratch), args)
        print(
            f"sample: {summary.units:,} units, {summary.memberships:,} memberships, "
            f"{summary.lazy_entries:,} catalog entries, {common.sample_form(args)}, "
            f"generated in {time.perf_counter() - started:.1f} s"
        )
        asyncio.run(_bench(server, summary, args.runs, args.parts))


if __name__ == "__main__":
    main()
