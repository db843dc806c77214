"""The physical limit of an ISO migration on this machine: the same work, set-based, one process.

    python benchmarks/baseline.py --units 100000 --repos 200

No queue, no Python per row: the staged Pulp 2 rows are COPYed (binary) into tables, each target
table gets one ``INSERT ... SELECT ... ON CONFLICT`` (``baseline.sql``), and the downloaded files
are hard-linked under a media root with ``os.link``. It runs against a *lean* schema (only the
unique keys its upserts need) and against this project's own schema (``init_db``: uuid keys,
foreign keys), each in a fresh database. Not done: PULP_MANIFEST files (one small file per
publication). Then the remote artifacts and the published artifacts are written again, each as
two halves at once on two connections: what two workers could at best do for those rows.

The staged rows come from premigrate run once in a scratch database (not timed), exported with
each unit's Pulp 3 fields already mapped; ``benchmarks/migration.py`` runs this on its sample.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import asyncpg
import common

from pulp2to3 import database
from pulp2to3.actors.premigrate import premigrate_dump
from pulp2to3.actors.steps import Migration
from pulp2to3.plan import parse_plan
from pulp2to3.pulp2.paths import map_storage_path
from pulp2to3.sample import SampleSummary, generate_sample
from pulp2to3.schema import init_db
from pulp2to3.settings import load_settings

SQL = database.parse_queries(Path(__file__).with_name("baseline.sql").read_text())
# What each staging table is filled from, in the scratch database premigrate staged.
EXPORTS = {
    "baseline_unit": "SELECT pulp2_id, storage_path, downloaded, fields ->> 'name',"
    " lower(fields ->> 'checksum'), (fields ->> 'size')::bigint,"
    " jsonb_build_array(fields ->> 'name', lower(fields ->> 'checksum'),"
    " (fields ->> 'size')::bigint)::text FROM pulp2_content WHERE content_type = 'iso'",
    "baseline_repo_content": "SELECT pulp2_repo_id, pulp2_unit_id, created FROM pulp2_repo_content",
    "baseline_lazy": "SELECT pulp2_unit_id, importer_id, url FROM pulp2_lazy_catalog",
    "baseline_importer": "SELECT pulp2_object_id, pulp2_repo_id, config FROM pulp2_importer",
    "baseline_distributor": "SELECT pulp2_repo_id, distributor_id, config FROM pulp2_distributor",
}
INSERTS = (
    "artifact",
    "content",
    "file_content",
    "content_artifact",
    "remote",
    "repository",
    "remote_artifact",
    "repository_version",
    "repository_content",
    "publication",
    "published_artifact",
    "distribution",
)
# Which parts of the baseline do the work of each migration step (for the ratios).
STEP_PARTS = {
    "premigrate": ("copy",),
    "migrate_content.iso": ("artifact", "content", "file_content", "content_artifact", "links"),
    "create_repositories": ("remote", "repository", "remote_artifact"),
    "create_repo_versions": ("repository_version", "repository_content"),
    "create_publications": ("publication", "published_artifact"),
    "create_distributions": ("distribution",),
}
LINK_FETCH = 10_000
# Parts run again after the rest, as two halves at once on two backends: the least time two
# workers could take to write what create_repositories and create_publications write, on this
# machine. Each backend runs the same statement, the table that drives it shadowed by a
# temporary table of half its rows (searched first); a filter in the statement changed its plan
# (remote artifacts: 8.8 -> 20.7 s).
SPLIT = {
    "remote_artifact": ("baseline_importer", "hashtext(object_id) & 1"),
    "published_artifact": ("publication", "id % 2"),
}


async def export_staged_rows(sample: SampleSummary, out: Path, server: str) -> None:
    """Stage the sample's dump with premigrate in a scratch database; COPY the rows the baseline
    reads out to ``out/<table>.copy`` (binary)."""
    os.makedirs(out, exist_ok=True)
    async with common.scratch_database(server) as url:
        connection = await database.connect(url)
        try:
            await init_db(connection)
            plan = json.loads(sample.plan_path.read_text())
            migration_id = await common.start_migration(connection, plan)
            settings = dataclasses.replace(
                load_settings(), pulp2_dump=sample.dump_path, pulp2_root=sample.pulp_root
            )
            async with connection.transaction():
                await premigrate_dump(
                    connection, Migration(migration_id, parse_plan(plan), settings), {}
                )
            for table, query in EXPORTS.items():
                await connection.copy_from_query(
                    query, output=out / f"{table}.copy", format="binary"
                )
        finally:
            await connection.close()


def _link_all(rows: list[asyncpg.Record], pulp2_root: Path, media: Path) -> None:
    for row in rows:
        digest = row["digest"]
        target = media / "artifact" / digest[:2] / digest[2:]
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(map_storage_path(row["storage_path"], pulp2_root), target)


async def _links(connection: asyncpg.Connection, pulp2_root: Path, media: Path) -> int:
    linked = 0
    async with connection.transaction():
        cursor = await connection.cursor(SQL["files_to_link"])
        while rows := await cursor.fetch(LINK_FETCH):
            _link_all(rows, pulp2_root, media)
            linked += len(rows)
    return linked


async def _half(url: str, name: str, half: int) -> int:
    """Part ``name`` for half ``half`` (0 or 1) of its rows, on a connection of its own; rows
    written."""
    table, key = SPLIT[name]
    connection = await database.connect(url)
    try:
        await connection.execute(
            f"CREATE TEMPORARY TABLE {table} AS SELECT * FROM public.{table} WHERE {key} = {half};"
            f" ANALYZE {table}"
        )
        status = await connection.execute(SQL[name])
    finally:
        await connection.close()
    return int(status.rsplit(" ", 1)[-1])


@dataclasses.dataclass
class BaselineRun:
    # Seconds per part (copy, each target table, links), total, then the SPLIT parts again.
    times: dict[str, float]
    rows: dict[str, int]  # rows (files) each part wrote


async def run(
    rows: Path, sample: SampleSummary, media: Path, server: str, *, lean: bool
) -> BaselineRun:
    """The baseline on a fresh database with the lean schema or this project's."""
    shutil.rmtree(media, ignore_errors=True)
    times: dict[str, float] = {}
    written: dict[str, int] = {}
    async with common.scratch_database(server) as url:
        connection = await database.connect(url)
        try:
            await connection.execute(SQL["lean_schema"]) if lean else await init_db(connection)
            await connection.execute(SQL["staging_tables"])
            started = time.perf_counter()
            for table in EXPORTS:
                await connection.copy_to_table(
                    table, source=rows / f"{table}.copy", format="binary"
                )
            await connection.execute(SQL["index_staging"])
            times["copy"] = time.perf_counter() - started
            for name in INSERTS:
                part = time.perf_counter()
                status = await connection.execute(SQL[name])
                written[name] = int(status.rsplit(" ", 1)[-1])
                times[name] = time.perf_counter() - part
            part = time.perf_counter()
            written["links"] = await _links(connection, sample.pulp_root, media)
            times["links"] = time.perf_counter() - part
            times["total"] = time.perf_counter() - started
            for name in SPLIT:
                await connection.execute(f"TRUNCATE {name}")
                part = time.perf_counter()
                halves = await asyncio.gather(*(_half(url, name, half) for half in (0, 1)))
                times[f"{name}, 2 backends"] = time.perf_counter() - part
                written[f"{name}, 2 backends"] = sum(halves)
        finally:
            await connection.close()
    shutil.rmtree(media, ignore_errors=True)
    return BaselineRun(times, written)


def step_times(times: dict[str, float]) -> dict[str, float]:
    """The baseline's time for the work of each migration step, and ``end to end``."""
    steps = {step: sum(times[part] for part in parts) for step, parts in STEP_PARTS.items()}
    return {**steps, "end to end": times["total"]}


def print_run(label: str, run: BaselineRun) -> None:
    parts = ", ".join(
        f"{name} {seconds:.1f} s" + (f" ({run.rows[name]:,})" if name in run.rows else "")
        for name, seconds in run.times.items()
        if name != "total"
    )
    print(f"baseline ({label}): {run.times['total']:.1f} s: {parts}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=100_000)
    parser.add_argument("--repos", type=int, default=200)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "pulp2to3-bench")
    args = parser.parse_args()
    server = os.environ.get("PULP2TO3_BENCH_SERVER_URL", common.LOCAL_SERVER)
    sample_dir = args.work / f"sample-iso-{args.repos}-{args.units}"
    shutil.rmtree(sample_dir, ignore_errors=True)
    sample = generate_sample(
        sample_dir, repos=args.repos, units=args.units, seed=1, plugins=["iso"]
    )
    rows = args.work / f"baseline-rows-{args.repos}-{args.units}"
    await export_staged_rows(sample, rows, server)
    for lean in (True, False):
        label = "lean schema" if lean else "project schema"
        print_run(label, await run(rows, sample, args.work / "media-baseline", server, lean=lean))


if __name__ == "__main__":
    asyncio.run(main())
