"""Time the repository steps again on a migrated database, and what each named query takes.

    python benchmarks/migration.py --units 1000000 --repos 1000 --workers 2 --no-baseline \
        --keep-database
    python benchmarks/repository_steps.py --database <the URL it printed> --concurrency 2

The database is one a migration finished in (``migration.py --keep-database``), its content
migrated. This empties what create_repositories, create_repo_versions, create_publications and
create_distributions write (TRUNCATE: the tables are as a first migration finds them, without
rows or statistics) and the Pulp 2 mapping they record, then runs the four steps of that
migration in turn: each step's batches ``--concurrency`` at a time, each on its own connection
in its own transaction with its counters, as the batch task does (the queue left out). It
prints, per step, its time, repositories/s and batch median / p95, and the time each named
query took in all (``--queries``). compute_version_content is not run beside
create_repositories here: create_repo_versions' first batch computes that input, as it does
when the input was lost. Comparing two versions of the code on one such database, run them
one after the other: the load of the machine changes the figures more than anything.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import dataclasses
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import structlog

from pulp2to3 import database
from pulp2to3.actors import distributions, publications, repo_versions, repositories
from pulp2to3.actors.steps import Batch, Migration, Step, load_migration
from pulp2to3.settings import load_settings
from pulp2to3.store import progress

STEPS = (repositories.STEP, repo_versions.STEP, publications.STEP, distributions.STEP)

# What each step writes: the tables it fills, emptied by one TRUNCATE for every step that runs
# (TRUNCATE refuses a table another table's foreign key names, unless both go at once)...
STEP_TABLES = {
    "create_repositories": (
        "repository_version",
        "repository",
        "remote_artifact",
        "remote",
    ),
    "create_repo_versions": ("repository_version_origin", "repository_content"),
    "create_publications": ("published_metadata", "published_artifact", "publication"),
    "create_distributions": ("distribution",),
}
# ...and what else it changes, undone before that TRUNCATE...
BEFORE_TRUNCATE = {
    "create_repositories": """
        UPDATE pulp2_repository SET pulp3_repository_id = NULL, is_migrated = false
         WHERE pulp3_repository_id IS NOT NULL OR is_migrated;
        UPDATE pulp2_importer SET pulp3_remote_id = NULL, is_migrated = false
         WHERE pulp3_remote_id IS NOT NULL OR is_migrated;
    """,
    "create_publications": """
        WITH manifests AS (DELETE FROM published_metadata RETURNING artifact_id)
        DELETE FROM artifact WHERE id IN (SELECT artifact_id FROM manifests);
        UPDATE pulp2_distributor SET pulp3_publication_id = NULL
         WHERE pulp3_publication_id IS NOT NULL;
    """,
    "create_distributions": """
        UPDATE pulp2_distributor SET pulp3_distribution_id = NULL, is_migrated = false
         WHERE pulp3_distribution_id IS NOT NULL OR is_migrated;
    """,
}
# ...or after it: version 0 of each repository is create_repositories' (gone with the TRUNCATE
# when that runs again).
AFTER_TRUNCATE = {"create_repo_versions": "DELETE FROM repository_version WHERE number > 0"}
FORGET_PROGRESS = "DELETE FROM migration_batch_progress WHERE step_code = ANY($1::text[])"
# The steps' inputs (store/step_input.py) were computed for this migration: computed again, as a
# first migration does.
FORGET_INPUTS = "DELETE FROM step_input WHERE split_part(step_code, '#', 1) = ANY($1::text[])"
LAST_MIGRATION = (
    "SELECT id FROM migration WHERE kind = 'migration' ORDER BY created_at DESC LIMIT 1"
)
NAMES = {text: name for name, text in database.queries.items()}


@dataclasses.dataclass
class StepTimes:
    seconds: float = 0.0
    done: int = 0
    batches: list[float] = dataclasses.field(default_factory=list)
    queries: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)


async def run_step(
    pool: asyncpg.Pool, step: Step, migration: Migration, concurrency: int
) -> StepTimes:
    times = StepTimes()

    def count(logged: Any) -> None:
        times.queries[NAMES.get(logged.query, logged.query[:60])] += logged.elapsed

    started = time.perf_counter()
    async with pool.acquire() as connection:
        batches = await step.plan_batches(connection, migration)
    limit = asyncio.Semaphore(concurrency)

    async def one(batch: Batch) -> None:
        async with limit, pool.acquire() as connection:
            connection.add_query_logger(count)
            try:
                began = time.perf_counter()
                async with connection.transaction():
                    result = await step.work(connection, migration, batch.args)
                    await progress.record_batch(
                        connection, migration.id, step.code, batch.key, result.done, result.failures
                    )
                times.batches.append(time.perf_counter() - began)
                times.done += result.done
            finally:
                connection.remove_query_logger(count)

    await asyncio.gather(*(one(batch) for batch in batches))
    times.seconds = time.perf_counter() - started
    return times


def report(step: Step, times: StepTimes, queries: bool) -> None:
    ordered = sorted(times.batches)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] if ordered else 0.0
    median = statistics.median(ordered) if ordered else 0.0
    print(
        f"{step.code}: {times.seconds:.1f} s, {times.done} done, {len(ordered)} batches,"
        f" median {median:.2f} / p95 {p95:.2f} s",
        flush=True,
    )
    if queries:
        for name, seconds in times.queries.most_common():
            print(f"    {name}: {seconds:.2f} s")


async def main_async(args: argparse.Namespace, media: Path) -> None:
    settings = dataclasses.replace(load_settings({}), media_root=media)
    pool = await database.create_pool(args.database, max_size=args.concurrency + 1)
    try:
        codes = [step.code for step in STEPS]
        steps = STEPS[codes.index(args.start) :]
        tables = [table for step in steps for table in STEP_TABLES[step.code]]
        async with pool.acquire() as connection, connection.transaction():
            for step in steps:
                if step.code in BEFORE_TRUNCATE:
                    await connection.execute(BEFORE_TRUNCATE[step.code])
            await connection.execute(f"TRUNCATE {', '.join(tables)}")
            for step in steps:
                if step.code in AFTER_TRUNCATE:
                    await connection.execute(AFTER_TRUNCATE[step.code])
            await connection.execute(FORGET_PROGRESS, [step.code for step in steps])
            await connection.execute(FORGET_INPUTS, [step.code for step in steps])
            migration_id: uuid.UUID = await connection.fetchval(LAST_MIGRATION)
            loaded = await load_migration(connection, migration_id)
        migration = dataclasses.replace(loaded, settings=settings)
        started = time.perf_counter()
        for step in steps:
            report(step, await run_step(pool, step, migration, args.concurrency), args.queries)
        print(f"all: {time.perf_counter() - started:.1f} s")
    finally:
        await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", required=True, help="URL of a migrated database")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--media", type=Path, help="media root (default: a temporary one)")
    parser.add_argument("--queries", action="store_true", help="time per named query")
    parser.add_argument(
        "--from",
        dest="start",
        choices=[step.code for step in STEPS],
        default=STEPS[0].code,
        help="run this step and the ones after it (what earlier ones wrote stays)",
    )
    # One line per batch would drown the figures: only warnings and errors are logged.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    args = parser.parse_args()
    if args.media is not None:
        asyncio.run(main_async(args, args.media))
    else:
        with tempfile.TemporaryDirectory(prefix="pulp2to3-steps-") as media:
            asyncio.run(main_async(args, Path(media)))


if __name__ == "__main__":
    main()
