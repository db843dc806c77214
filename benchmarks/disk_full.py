"""A migration onto a media root that fills up, then again once space is freed.

    python benchmarks/disk_full.py --units 50000 --repos 100 --workers 2 --room 0.5 --runs 3

The local cluster, a scratch database per run; the media root is a tmpfs (``mount``, as root)
with room for ``--room`` of the space the sample's files take (the Pulp 2 tree stays on the
disk, so every file is copied). Each run: 2 ``pulp2to3 worker`` processes migrate the
generated sample until the report is finished; reported are the report's status, the content
step's done and failed counts, whether every failure is named with ENOSPC, and the temporary
files left under the media root. Then the tmpfs gets room for everything (``mount -o
remount``), the same plan runs again, and the target is compared with what the sample must
give (the tests' comparison).
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

import common

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' helpers

from pulp2to3 import runner
from pulp2to3.sample import SampleSummary, generate_sample
from pulp2to3.schema import init_db
from pulp2to3.store import migrations
from tests.filesystems_support import resize, small_filesystem
from tests.migration_support import actual_state, expected_state

CONTENT_STEP = "migrate_content.iso"
ROOM_FOR_ALL = 4  # times the sample's file space, for the run after space is freed


def file_space(tree: Path) -> int:
    """The space the files under ``tree`` take (whole blocks: on a tmpfs, a page per file)."""
    return sum(path.stat().st_blocks * 512 for path in tree.rglob("*") if path.is_file())


def temporary_files(media: Path) -> int:
    """Files a store left half-written (``.part``, ``.tmp-*``)."""
    return sum(1 for path in media.rglob("*") if ".part" in path.name or ".tmp-" in path.name)


async def migrate(url: str, sample: SampleSummary) -> tuple[migrations.ReportView, float]:
    started = time.monotonic()
    async with runner.pool_to(url) as pool:
        async with pool.acquire() as connection:
            migration_id = await runner.submit(connection, sample.plan_path.read_text())
        report = await runner.watch(pool, migration_id, lambda *_: None)
    return report, time.monotonic() - started


async def failure_reasons(url: str, migration_id: object) -> list[str]:
    async with runner.connection_to(url) as connection:
        rows = await connection.fetch(
            "SELECT reason FROM migration_unit_failure WHERE migration_id = $1", migration_id
        )
    return [row["reason"] for row in rows]


async def run(sample: SampleSummary, work: Path, workers: int, room: int) -> None:
    media = work / "media"
    shutil.rmtree(media, ignore_errors=True)
    async with common.scratch_database(common.LOCAL_SERVER) as url:
        async with runner.connection_to(url) as connection:
            await init_db(connection)
        with small_filesystem(media, room) as media_root:
            env = runner.child_environment(
                url, pulp2_dump=sample.dump_path, pulp2_root=sample.pulp_root, media_root=media
            )
            with runner.worker_processes(workers, env):
                full, full_time = await migrate(url, sample)
            content = next(step for step in full.steps if step.code == CONTENT_STEP)
            reasons = await failure_reasons(url, full.id)
            named = all("(ENOSPC)" in reason for reason in reasons)
            left_full = temporary_files(media_root)
            print(
                f"  full: {full.status} in {full_time:.1f} s; {CONTENT_STEP} done"
                f" {content.done}, failed {content.failed} (failures recorded {len(reasons)},"
                f" all named ENOSPC: {named}); error: {(full.error or '')[:120]!r};"
                f" temporary files left: {left_full}",
                flush=True,
            )
            resize(media_root, ROOM_FOR_ALL * file_space(sample.pulp_root) + (64 << 20))
            with runner.worker_processes(workers, env):
                again, again_time = await migrate(url, sample)
            async with runner.connection_to(url) as connection:
                same = await actual_state(connection, media_root) == expected_state(sample)
            print(
                f"  space freed: {again.status} in {again_time:.1f} s; target as expected:"
                f" {same}; temporary files left: {temporary_files(media_root)}",
                flush=True,
            )


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--units", type=int, default=50_000)
    parser.add_argument("--repos", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--room", type=float, default=0.5, help="of the sample's file space")
    parser.add_argument("--runs", type=int, default=3, help="in a row")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "pulp2to3-disk")
    args = parser.parse_args()
    sample_dir = args.work / f"sample-{args.repos}-{args.units}"
    shutil.rmtree(sample_dir, ignore_errors=True)
    sample = generate_sample(sample_dir, repos=args.repos, units=args.units, seed=1)
    total = file_space(sample.pulp_root)
    room = int(total * args.room)
    print(f"sample files take {total:,} bytes; media root: a tmpfs of {room:,} bytes", flush=True)
    for number in range(1, args.runs + 1):
        print(f"run {number}: load average {os.getloadavg()[0]:.1f}", flush=True)
        await run(sample, args.work, args.workers, room)


if __name__ == "__main__":
    asyncio.run(main())
