"""Migrations interrupted at seeded random points, each held to a clean run, row for row.

    python benchmarks/interruptions.py --units 2100 --repos 6 --seeds 40

A clean migration of a generated sample, then for each seed two more of the same sample: one
canceled through the API at the seed's random point (a step, and a number of its batches done)
and run again, one whose worker running a batch of the seed's random step gets SIGKILL. Each
whole target (every target table by natural keys, the Pulp 2 mapping, the artifacts' files by
digest, the report's counters) is compared with the clean run's (tests/interruption_support.py,
the suite's test_interrupted.py with many seeds). Prints one line per run and the count of
unequal ones. Scratch databases on the local server (PULP2TO3_BENCH_SERVER_URL to use another).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Literal

import common

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' helpers

from pulp2to3.database import connect
from pulp2to3.sample import SampleSummary, generate_sample
from pulp2to3.schema import init_db
from tests.interruption_support import Interruption, Outcome, migrate
from tests.target_support import differences

SERVER_URL = os.environ.get("PULP2TO3_BENCH_SERVER_URL", common.LOCAL_SERVER)
HOWS: tuple[Literal["cancel", "kill"], ...] = ("cancel", "kill")


async def run(
    sample: SampleSummary, media: Path, interruption: Interruption | None, seed: int
) -> tuple[Outcome, float]:
    shutil.rmtree(media, ignore_errors=True)
    async with common.scratch_database(SERVER_URL) as url:
        connection = await connect(url)
        try:
            await init_db(connection)
        finally:
            await connection.close()
        started = time.monotonic()
        outcome = await migrate(url, sample, media, interruption, seed)
        return outcome, time.monotonic() - started


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=2100)
    parser.add_argument("--repos", type=int, default=6)
    parser.add_argument("--seeds", type=int, default=40, help="seeds 1..N, each cancel and kill")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "pulp2to3-bench")
    args = parser.parse_args()
    sample_dir = args.work / f"interruptions-{args.repos}-{args.units}"
    shutil.rmtree(sample_dir, ignore_errors=True)
    sample = generate_sample(
        sample_dir, repos=args.repos, units=args.units, on_demand=0.5, overlap=0.3,
        revisions=0.05, seed=11,
    )  # fmt: skip
    clean, elapsed = await run(sample, args.work / "media-clean", None, 0)
    print(f"clean run: {elapsed:.1f} s; batches per step {clean.batches}", flush=True)
    unequal = 0
    for seed in range(1, args.seeds + 1):
        for how in HOWS:
            interruption = Interruption.choose(seed, how, clean.batches)
            outcome, elapsed = await run(sample, args.work / "media-run", interruption, seed)
            found = differences(clean.target, outcome.target)
            counters = outcome.counters == clean.counters
            unequal += bool(found) or not counters
            print(
                f"seed {seed} {how}: {outcome.landed}; {elapsed:.1f} s;"
                f" target equal: {not found}; counters equal: {counters}",
                flush=True,
            )
            for table, (missing, extra) in found.items():
                print(f"  {table}: only in the clean run {missing}, only here {extra}")
    print(f"{unequal} of {2 * args.seeds} interrupted runs differ from the clean run")


if __name__ == "__main__":
    asyncio.run(main())
