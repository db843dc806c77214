"""Time the migrate_content.iso step: ``python benchmarks/content_iso.py --units 50000``.

Builds a throw-away database (``PULP2TO3_TEST_DATABASE_URL``, else the local server), stages
``--units`` ISO units with COPY (half downloaded, with real small files in a temporary Pulp 2
tree; half on_demand, with lazy catalog entries; one in ten shares its file with another unit),
then times what the step does: planning the batches, and running them ``--concurrency`` at a
time, each on its own connection in its own transaction with its counters, as the batch task
does. The queue is left out.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import common
import structlog

from pulp2to3 import database
from pulp2to3.actors.content import content_step
from pulp2to3.actors.steps import Batch, Migration
from pulp2to3.plan import parse_plan
from pulp2to3.plugins.iso_content import CONTENT_TYPE
from pulp2to3.pulp2.staging import ContentRow
from pulp2to3.schema import init_db
from pulp2to3.settings import load_settings
from pulp2to3.store import progress

SERVER_URL = os.environ.get("PULP2TO3_TEST_DATABASE_URL", common.LOCAL_SERVER)
PLAN: dict[str, Any] = {"plugins": [{"type": "iso"}]}
STEP = content_step(CONTENT_TYPE)


def write_tree(root: Path, units: int) -> list[ContentRow]:
    """Files of the downloaded units under ``root``; the pulp2_content rows of every unit."""
    rows: list[ContentRow] = []
    for n in range(units):
        unit_id = str(uuid.UUID(int=n))
        data = f"iso image {n % (units * 9 // 10) or n}\n".encode() * 8
        sha = hashlib.sha256(data).hexdigest()
        downloaded = n % 2 == 0
        storage_path = f"/var/lib/pulp/content/units/iso/{sha[:2]}/{unit_id}/image-{n}.iso"
        if downloaded:
            path = root / storage_path.removeprefix("/var/lib/pulp/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        fields = {"name": f"image-{n}.iso", "checksum": sha, "size": len(data)}
        rows.append(ContentRow(unit_id, "iso", 1, storage_path, downloaded, fields))
    return rows


async def stage(connection: asyncpg.Connection, rows: list[ContentRow]) -> None:
    await connection.copy_records_to_table(
        "pulp2_content",
        records=rows,
        columns=list(ContentRow._fields),
    )
    await connection.execute(
        "INSERT INTO pulp2_lazy_catalog (pulp2_unit_id, unit_type_id, importer_id, url, path,"
        " checksum, checksum_algorithm)"
        " SELECT pulp2_id, 'iso', 'importer', 'https://example.com/' || (fields->>'name'),"
        "        storage_path, fields->>'checksum', 'sha256'"
        "   FROM pulp2_content WHERE NOT downloaded"
    )
    await connection.execute("ANALYZE")


async def new_migration(connection: asyncpg.Connection, settings: Any) -> Migration:
    migration_id = await common.start_migration(connection, PLAN)
    return Migration(id=migration_id, plan=parse_plan(PLAN), settings=settings)


async def run_step(
    pool: asyncpg.Pool, migration: Migration, concurrency: int
) -> tuple[int, int, float]:
    """Plan and run every batch; (migrated, failed, planning seconds)."""
    started = time.perf_counter()
    async with pool.acquire() as connection:
        batches = await STEP.plan_batches(connection, migration)
    planning = time.perf_counter() - started
    limit = asyncio.Semaphore(concurrency)

    async def one(batch: Batch) -> tuple[int, int]:
        async with limit, pool.acquire() as connection, connection.transaction():
            result = await STEP.work(connection, migration, batch.args)
            await progress.record_batch(
                connection,
                migration.id,
                STEP.code,
                batch.key,
                result.done,
                result.failures,
            )
            return result.done, len(result.failures)

    results = await asyncio.gather(*(one(batch) for batch in batches))
    return sum(d for d, _ in results), sum(f for _, f in results), planning


async def backend_cpu(connection: asyncpg.Connection) -> dict[int, float]:
    """CPU seconds used so far by each PostgreSQL backend of the database (a local server)."""
    pids = await connection.fetch(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
    )
    return {row["pid"]: used for row in pids if (used := process_cpu(row["pid"])) is not None}


def process_cpu(pid: int) -> float | None:
    """User and system CPU seconds of a process so far; None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def main_async(args: argparse.Namespace) -> None:
    async with common.scratch_database(SERVER_URL) as url:
        with tempfile.TemporaryDirectory(prefix="pulp2to3-bench-") as scratch:
            root, media = Path(scratch) / "pulp", Path(scratch) / "media"
            settings = dataclasses.replace(
                load_settings({}), pulp2_root=root, media_root=media, verify_checksums=args.verify
            )
            pool = await database.create_pool(url, max_size=args.concurrency + 1)
            try:
                async with pool.acquire() as connection:
                    await init_db(connection)
                    await stage(connection, write_tree(root, args.units))
                    migration = await new_migration(connection, settings)
                async with pool.acquire() as connection:
                    database_before = await backend_cpu(connection)
                started, cpu = time.perf_counter(), time.process_time()
                done, failed, planning = await run_step(pool, migration, args.concurrency)
                elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
                async with pool.acquire() as connection:
                    database_after = await backend_cpu(connection)
                    database_cpu = sum(
                        used - database_before.get(pid, 0.0) for pid, used in database_after.items()
                    )
                    counts = await connection.fetchrow(
                        "SELECT (SELECT count(*) FROM artifact) AS artifacts,"
                        "       (SELECT count(*) FROM content) AS contents"
                    )
            finally:
                await pool.close()
    print(
        f"{args.units} units ({done} migrated, {failed} failed; {counts['contents']} contents,"
        f" {counts['artifacts']} artifacts), concurrency {args.concurrency}"
        f"{', verify' if args.verify else ''}: {elapsed:.2f} s (planning {planning:.2f} s),"
        f" {done / elapsed:,.0f} units/s; CPU: this process {cpu:.2f} s, PostgreSQL backends"
        f" {database_cpu:.2f} s (a local server)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=50_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--verify", action="store_true", help="re-hash every file")
    # One line per batch would drown the figure: only warnings and errors are logged.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
