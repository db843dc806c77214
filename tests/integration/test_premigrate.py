"""premigrate against real PostgreSQL and dumps written by the project's sample generator."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from pulp2to3.actors import premigrate
from pulp2to3.actors.premigrate import premigrate_dump
from pulp2to3.actors.steps import Batch, BatchResult, Migration, Step
from pulp2to3.plan import parse_plan
from pulp2to3.pulp2 import open_dump
from pulp2to3.pulp2.errors import DumpUnreadable
from pulp2to3.sample import (
    DUMP_FORMS,
    DumpFormat,
    SampleSummary,
    generate_every_form,
    generate_sample,
)
from pulp2to3.sample.writer import ArchiveDumpWriter, DumpWriter, FolderDumpWriter
from pulp2to3.settings import load_settings
from pulp2to3.store.staging import LOAD_TABLES, NotInTransaction
from tests.database_support import NewMigration
from tests.waiting_support import eventually

Documents = dict[str, list[dict[str, Any]]]

COLLECTIONS = (
    "repos",
    "repo_importers",
    "repo_distributors",
    "repo_content_units",
    "units_iso",
    "lazy_content_catalog",
)
# Each staging table by the columns that order it (its natural key).
TABLES = {
    "pulp2_repository": "pulp2_repo_id",
    "pulp2_importer": "pulp2_repo_id",
    "pulp2_distributor": "pulp2_repo_id, distributor_id",
    "pulp2_repo_content": "pulp2_repo_id, pulp2_unit_id",
    "pulp2_content": "pulp2_id",
    "pulp2_lazy_catalog": "pulp2_unit_id, importer_id, url",
}
SEED = 7


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def read_dump(path: Path) -> Documents:
    """Every document premigrate reads, by collection, as the project's reader gives them."""
    documents: Documents = {name: [] for name in COLLECTIONS}
    for collection, document in open_dump(path).iter_documents(COLLECTIONS):
        documents[collection].append(document)
    return documents


def write_dump(path: Path, fmt: DumpFormat, compress: bool, documents: Documents) -> Path:
    """Write ``documents`` as a mongodump dump with the sample generator's own writer."""
    writer: DumpWriter
    if fmt == "archive":
        path = path / "pulp_database.archive"
        writer = ArchiveDumpWriter(path, "pulp_database", compress=compress, concurrency=3)
    else:
        writer = FolderDumpWriter(path, "pulp_database", compress=compress)
    with writer:
        for name, collection in documents.items():
            out = writer.collection(name)
            for document in collection:
                out.write(document)
    return path


def utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.replace(tzinfo=UTC)


def iso(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def settings_for(dump_path: Path, pulp_root: Path | None = None) -> Any:
    return dataclasses.replace(
        load_settings(), pulp2_dump=dump_path, pulp2_root=pulp_root or dump_path.parent
    )


async def run_for(
    new_migration: NewMigration,
    summary: SampleSummary,
    *,
    dump: Path | None = None,
    plan: Any = None,
) -> Migration:
    plan = plan if plan is not None else json.loads(summary.plan_path.read_text())
    return await new_migration(plan, settings_for(dump or summary.dump_path, summary.pulp_root))


def reading(migration: Migration, dump: Path) -> Migration:
    """The same migration pointed at another dump (only one report may be unfinished)."""
    return dataclasses.replace(
        migration, settings=dataclasses.replace(migration.settings, pulp2_dump=dump)
    )


def planning(migration: Migration, plan: Any) -> Migration:
    return dataclasses.replace(migration, plan=parse_plan(plan))


async def stage(pool: asyncpg.Pool, migration: Migration) -> BatchResult:
    async with pool.acquire() as connection, connection.transaction():
        return await premigrate_dump(connection, migration, {})


async def snapshot(pool: asyncpg.Pool) -> dict[str, list[dict[str, Any]]]:
    async with pool.acquire() as connection:
        return {
            table: [
                dict(row)
                for row in await connection.fetch(f"SELECT * FROM {table} ORDER BY {order}")
            ]
            for table, order in TABLES.items()
        }


async def mark_all_migrated(pool: asyncpg.Pool) -> None:
    """What the later steps would leave: everything migrated, every row mapped."""
    async with pool.acquire() as connection:
        await connection.execute(
            "UPDATE pulp2_repository SET is_migrated = true, pulp3_repository_id = id"
        )
        await connection.execute(
            "UPDATE pulp2_importer SET is_migrated = true, pulp3_remote_id = id"
        )
        await connection.execute(
            "UPDATE pulp2_distributor SET is_migrated = true,"
            " pulp3_publication_id = id, pulp3_distribution_id = id"
        )
        await connection.execute(
            "UPDATE pulp2_content SET is_migrated = true, pulp3_content_id = id"
        )


def by(rows: list[dict[str, Any]], *keys: str) -> dict[Any, dict[str, Any]]:
    return {row[keys[0]] if len(keys) == 1 else tuple(row[k] for k in keys): row for row in rows}


def not_migrated(rows: list[dict[str, Any]], *keys: str) -> set[Any]:
    return {key for key, row in by(rows, *keys).items() if not row["is_migrated"]}


# Expected staging rows, derived from the documents independently of the converters.


def expected_repositories(docs: Documents) -> set[tuple[Any, ...]]:
    return {
        (
            str(d["_id"]),
            d["repo_id"],
            d["notes"]["_repo-type"],
            json.dumps(d["content_unit_counts"], sort_keys=True),
            utc(d.get("last_unit_added")),
            utc(d.get("last_unit_removed")),
        )
        for d in docs["repos"]
    }


def expected_importers(docs: Documents) -> set[tuple[Any, ...]]:
    return {
        (
            str(d["_id"]),
            d["repo_id"],
            d["importer_type_id"],
            json.dumps(d["config"], sort_keys=True),
            utc(d["last_updated"]),
        )
        for d in docs["repo_importers"]
    }


def expected_distributors(docs: Documents) -> set[tuple[Any, ...]]:
    return {
        (
            str(d["_id"]),
            d["repo_id"],
            d["distributor_id"],
            d["distributor_type_id"],
            json.dumps(d["config"], sort_keys=True),
            d["auto_publish"],
            utc(d["last_publish"]),
            utc(d["last_updated"]),
        )
        for d in docs["repo_distributors"]
    }


def expected_memberships(docs: Documents) -> set[tuple[Any, ...]]:
    return {
        (d["repo_id"], d["unit_id"], d["unit_type_id"], iso(d["created"]), iso(d["updated"]))
        for d in docs["repo_content_units"]
    }


def expected_content(docs: Documents) -> set[tuple[Any, ...]]:
    return {
        (
            d["_id"],
            "iso",
            d["_last_updated"],
            d["_storage_path"],
            d["downloaded"],
            json.dumps(
                {"name": d["name"], "checksum": d["checksum"], "size": d["size"]}, sort_keys=True
            ),
        )
        for d in docs["units_iso"]
    }


def expected_lazy(docs: Documents) -> set[tuple[Any, ...]]:
    return {
        (
            d["unit_id"],
            d["unit_type_id"],
            d["importer_id"],
            d["url"],
            d["path"],
            d["checksum"],
            d["checksum_algorithm"],
            d["revision"],
        )
        for d in docs["lazy_content_catalog"]
    }


def staged(rows: list[dict[str, Any]], *columns: str) -> set[tuple[Any, ...]]:
    def value(row: dict[str, Any], column: str) -> Any:
        item = row[column]
        return json.dumps(item, sort_keys=True) if isinstance(item, dict) else item

    return {tuple(value(row, column) for column in columns) for row in rows}


# Each staging table's columns, in the order of its expected_* tuples, and that function.
STAGED_COLUMNS: dict[str, tuple[tuple[str, ...], Callable[[Documents], set[tuple[Any, ...]]]]] = {
    "pulp2_repository": (
        (
            "pulp2_object_id",
            "pulp2_repo_id",
            "pulp2_repo_type",
            "content_unit_counts",
            "last_unit_added",
            "last_unit_removed",
        ),
        expected_repositories,
    ),
    "pulp2_importer": (
        ("pulp2_object_id", "pulp2_repo_id", "importer_type_id", "config", "last_updated"),
        expected_importers,
    ),
    "pulp2_distributor": (
        (
            "pulp2_object_id",
            "pulp2_repo_id",
            "distributor_id",
            "distributor_type_id",
            "config",
            "auto_publish",
            "last_publish",
            "last_updated",
        ),
        expected_distributors,
    ),
    "pulp2_repo_content": (
        ("pulp2_repo_id", "pulp2_unit_id", "unit_type_id", "created", "updated"),
        expected_memberships,
    ),
    "pulp2_content": (
        (
            "pulp2_id",
            "content_type",
            "last_updated",
            "storage_path",
            "downloaded",
            "fields",
        ),
        expected_content,
    ),
    "pulp2_lazy_catalog": (
        (
            "pulp2_unit_id",
            "unit_type_id",
            "importer_id",
            "url",
            "path",
            "checksum",
            "checksum_algorithm",
            "revision",
        ),
        expected_lazy,
    ),
}


def staged_table(tables: dict[str, list[dict[str, Any]]], table: str) -> set[tuple[Any, ...]]:
    """The rows of ``table`` as tuples comparable with its expected_* function's."""
    columns, _expected = STAGED_COLUMNS[table]
    return staged(tables[table], *columns)


def assert_staged_as(tables: dict[str, list[dict[str, Any]]], docs: Documents) -> None:
    for table, (_columns, expected) in STAGED_COLUMNS.items():
        assert staged_table(tables, table) == expected(docs), table


# ---------------------------------------------------------------------------------------------
# Samples
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def samples(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[tuple[DumpFormat, bool], SampleSummary]:
    return generate_every_form(
        tmp_path_factory.mktemp("premigrate-samples"), repos=6, units=300, seed=SEED
    )


@pytest.fixture(scope="module")
def sample(samples: dict[tuple[DumpFormat, bool], SampleSummary]) -> SampleSummary:
    return samples["archive", False]


@pytest.fixture(scope="module")
def sample_docs(sample: SampleSummary) -> Documents:
    return read_dump(sample.dump_path)


# ---------------------------------------------------------------------------------------------
# The step
# ---------------------------------------------------------------------------------------------


async def test_the_step_is_one_batch_per_part_of_the_dump(
    pool: asyncpg.Pool,
    new_migration: NewMigration,
    samples: dict[tuple[DumpFormat, bool], SampleSummary],
    tmp_path: Path,
) -> None:
    expected = [
        ["repos", "repo_importers", "repo_distributors"],
        ["repo_content_units"],
        ["units_iso"],
        ["lazy_content_catalog"],
    ]
    run = await run_for(new_migration, samples["archive", False])
    for fmt, compress in DUMP_FORMS:
        async with pool.acquire() as connection:
            batches = await premigrate.STEP.plan_batches(
                connection, reading(run, samples[fmt, compress].dump_path)
            )
        assert [(b.key, b.units, dict(b.args)) for b in batches] == [
            (f"part-{index}", 1, {"part": index, "parts": 4, "collections": collections})
            for index, collections in enumerate(expected)
        ], (fmt, compress)
    assert premigrate.STEP.code == "premigrate"
    assert premigrate.STEP.actor.name == "pulp2to3.premigrate"
    # A dump that cannot be opened is one batch, which fails saying why (below).
    unreadable = reading(run, tmp_path / "nowhere.archive")
    async with pool.acquire() as connection:
        batches = await premigrate.STEP.plan_batches(connection, unreadable)
    assert [(b.key, b.units, dict(b.args)) for b in batches] == [("dump", 1, {})]


async def run_at_once(
    pool: asyncpg.Pool, migration: Migration, step: Step, batches: list[Batch]
) -> list[BatchResult | BaseException]:
    """Run the step's batches at the same time, each in its transaction, as workers do."""

    async def run(batch: Batch) -> BatchResult:
        async with pool.acquire() as connection, connection.transaction():
            return await step.work(connection, migration, batch.args)

    return await asyncio.gather(*(run(batch) for batch in batches), return_exceptions=True)


async def stage_in_parts(
    pool: asyncpg.Pool, migration: Migration, *, again: int | None = None, ranges: int = 3
) -> list[BatchResult | BaseException]:
    """Plan the parts and load them at the same time, then merge ``ranges`` key ranges at the
    same time (when every part loaded), each in its transaction, as workers do; the parts'
    results.

    ``again``: that part loads once more first, as when its worker died after it committed.
    """
    async with pool.acquire() as connection, connection.transaction():
        batches = await premigrate.STEP.plan_batches(connection, migration)
    if again is not None:
        await run_at_once(pool, migration, premigrate.STEP, [batches[again]])
    results = await run_at_once(pool, migration, premigrate.STEP, batches)
    if all(isinstance(result, BatchResult) for result in results):
        merged = await run_at_once(
            pool, migration, premigrate.MERGE_STEP, premigrate.merge_batches(ranges)
        )
        assert merged == [BatchResult(done=1)] * ranges
    return results


@pytest.mark.parametrize(("fmt", "compress"), DUMP_FORMS)
async def test_parts_loaded_at_once_stage_what_the_whole_dump_does(
    pool: asyncpg.Pool,
    new_migration: NewMigration,
    samples: dict[tuple[DumpFormat, bool], SampleSummary],
    sample_docs: Documents,
    fmt: DumpFormat,
    compress: bool,
) -> None:
    summary = samples[fmt, compress]
    results = await stage_in_parts(pool, await run_for(new_migration, summary), again=1)

    assert results == [BatchResult(done=1)] * 4
    tables = await snapshot(pool)
    assert {table: len(rows) for table, rows in tables.items()} == {
        "pulp2_repository": summary.repos,
        "pulp2_importer": summary.repos,
        "pulp2_distributor": summary.collection_counts["repo_distributors"],
        "pulp2_repo_content": summary.memberships,
        "pulp2_content": summary.units,
        "pulp2_lazy_catalog": summary.lazy_entries,
    }
    assert_staged_as(tables, sample_docs)
    assert await load_rows(pool) == 0  # the merge emptied the load tables


async def load_rows(pool: asyncpg.Pool) -> int:
    rows = 0
    async with pool.acquire() as connection:
        for table in (
            *LOAD_TABLES,
            "premigrate_load_part",
            "premigrate_load_part_present",
            "premigrate_merge_range",
        ):
            rows += await connection.fetchval(f"SELECT count(*) FROM {table}")
    return rows


async def test_a_part_loaded_again_after_the_merge_changes_nothing(
    pool: asyncpg.Pool, new_migration: NewMigration, sample: SampleSummary
) -> None:
    run = await run_for(new_migration, sample)
    await stage_in_parts(pool, run)
    await mark_all_migrated(pool)
    staged = await snapshot(pool)
    async with pool.acquire() as connection, connection.transaction():
        batches = await premigrate.STEP.plan_batches(connection, run)
    async with pool.acquire() as connection, connection.transaction():
        await premigrate_dump(connection, run, batches[2].args)  # its worker died, it runs again

    assert await snapshot(pool) == staged  # no merge: the other parts are not loaded again
    # A range merged again after the last one emptied the load tables merges nothing.
    assert await run_at_once(
        pool, run, premigrate.MERGE_STEP, premigrate.merge_batches(3)[1:2]
    ) == [BatchResult(done=1)]
    assert await snapshot(pool) == staged
    assert await stage_in_parts(pool, run) == [BatchResult(done=1)] * 4
    assert await snapshot(pool) == staged  # and the next run starts clean: nothing changed


async def crash_recovery(pool: asyncpg.Pool) -> None:
    """What crash recovery does to unlogged tables: it empties them."""
    async with pool.acquire() as connection:
        unlogged = await connection.fetch(
            "SELECT relname FROM pg_class WHERE relpersistence = 'u' AND relkind = 'r'"
            " AND relname LIKE 'premigrate_load_%'"
        )
        assert len(unlogged) == len(LOAD_TABLES) + 1
        await connection.execute("TRUNCATE " + ", ".join(row["relname"] for row in unlogged))


@pytest.mark.parametrize("during", ["load", "merge"])
async def test_parts_a_crash_of_postgresql_lost_are_loaded_again(
    pool: asyncpg.Pool,
    new_migration: NewMigration,
    sample: SampleSummary,
    sample_docs: Documents,
    during: str,
) -> None:
    """``load``: before the last part, which loads the lost ones again; ``merge``: after the
    first range, and the other ranges at once: one loads them again, the other waits for it."""
    run = await run_for(new_migration, sample)
    async with pool.acquire() as connection, connection.transaction():
        parts = await premigrate.STEP.plan_batches(connection, run)
    ranges = premigrate.merge_batches(3)
    # The parts and the ranges done before the crash.
    loaded, merged = (len(parts) - 1, 0) if during == "load" else (len(parts), 1)
    results = await run_at_once(pool, run, premigrate.STEP, parts[:loaded])
    results += await run_at_once(pool, run, premigrate.MERGE_STEP, ranges[:merged])
    await crash_recovery(pool)
    results += await run_at_once(pool, run, premigrate.STEP, parts[loaded:])
    results += await run_at_once(pool, run, premigrate.MERGE_STEP, ranges[merged:])

    assert results == [BatchResult(done=1)] * (len(parts) + len(ranges))
    assert_staged_as(await snapshot(pool), sample_docs)
    assert await load_rows(pool) == 0


def truncated_copy(summary: SampleSummary, folder: Path) -> Path:
    """The sample's archive cut after two thirds of its bytes, in the middle of a document."""
    broken = folder / "broken.archive"
    data = summary.dump_path.read_bytes()
    broken.write_bytes(data[: len(data) * 2 // 3])
    return broken


@pytest.mark.parametrize("compress", [False, True])
async def test_a_broken_part_stages_nothing_and_the_next_run_starts_clean(
    pool: asyncpg.Pool,
    new_migration: NewMigration,
    samples: dict[tuple[DumpFormat, bool], SampleSummary],
    sample_docs: Documents,
    tmp_path: Path,
    compress: bool,
) -> None:
    summary = samples["archive", compress]
    broken = truncated_copy(summary, tmp_path)
    run = await run_for(new_migration, summary, dump=broken)

    results = await stage_in_parts(pool, run)

    failed = [result for result in results if isinstance(result, DumpUnreadable)]
    assert failed
    assert all(str(broken) in str(result) for result in failed)
    assert len(failed) + results.count(BatchResult(done=1)) == 4
    assert all(not rows for rows in (await snapshot(pool)).values())
    assert await stage_in_parts(pool, reading(run, summary.dump_path)) == [BatchResult(done=1)] * 4
    assert_staged_as(await snapshot(pool), sample_docs)


@pytest.mark.parametrize(("fmt", "compress"), DUMP_FORMS)
async def test_every_dump_form_is_staged_as_written(
    pool: asyncpg.Pool,
    new_migration: NewMigration,
    samples: dict[tuple[DumpFormat, bool], SampleSummary],
    sample_docs: Documents,
    fmt: DumpFormat,
    compress: bool,
) -> None:
    summary = samples[fmt, compress]
    result = await stage(pool, await run_for(new_migration, summary))

    assert result == BatchResult(done=1)
    tables = await snapshot(pool)
    assert {table: len(rows) for table, rows in tables.items()} == {
        "pulp2_repository": summary.repos,
        "pulp2_importer": summary.repos,
        "pulp2_distributor": summary.collection_counts["repo_distributors"],
        "pulp2_repo_content": summary.memberships,
        "pulp2_content": summary.units,
        "pulp2_lazy_catalog": summary.lazy_entries,
    }
    # Same seed, same documents whatever the form: compare with the plain archive's.
    assert_staged_as(tables, sample_docs)
    for table in ("pulp2_repository", "pulp2_importer", "pulp2_distributor", "pulp2_content"):
        assert not any(row["is_migrated"] for row in tables[table]), table
    assert not any(row["not_in_plan"] for row in tables["pulp2_repository"])


async def test_on_demand_units_are_not_downloaded_and_have_their_importers_catalog(
    pool: asyncpg.Pool, new_migration: NewMigration, sample: SampleSummary
) -> None:
    await stage(pool, await run_for(new_migration, sample))
    async with pool.acquire() as connection:
        not_downloaded = await connection.fetchval(
            "SELECT count(*) FROM pulp2_content WHERE NOT downloaded"
        )
        lazy = await connection.fetch(
            "SELECT e.*, c.downloaded, i.pulp2_repo_id AS importer_repo,"
            "       i.config->>'download_policy' AS policy"
            "  FROM pulp2_lazy_catalog e"
            "  JOIN pulp2_content c ON c.pulp2_id = e.pulp2_unit_id"
            "  LEFT JOIN pulp2_importer i ON i.pulp2_object_id = e.importer_id"
        )
        memberships = {
            (row["pulp2_repo_id"], row["pulp2_unit_id"])
            for row in await connection.fetch("SELECT * FROM pulp2_repo_content")
        }
    assert not_downloaded == sample.on_demand_units > 0
    assert len(lazy) == sample.lazy_entries > 0
    for entry in lazy:
        assert entry["downloaded"] is False
        assert entry["policy"] == "on_demand"  # the importer named by importer_id exists
        assert (entry["importer_repo"], entry["pulp2_unit_id"]) in memberships
        assert entry["path"].startswith("/var/lib/pulp/content/units/iso/")


async def test_a_few_rows_in_detail(
    pool: asyncpg.Pool, new_migration: NewMigration, sample: SampleSummary, sample_docs: Documents
) -> None:
    await stage(pool, await run_for(new_migration, sample))
    tables = await snapshot(pool)
    unit = sample_docs["units_iso"][0]
    row = by(tables["pulp2_content"], "pulp2_id")[unit["_id"]]
    assert row["fields"] == {
        "name": unit["name"],
        "checksum": unit["checksum"],
        "size": unit["size"],
    }
    assert row["last_updated"] == unit["_last_updated"]
    assert row["storage_path"] == unit["_storage_path"]
    repo = sample_docs["repos"][0]
    staged_repo = by(tables["pulp2_repository"], "pulp2_repo_id")[repo["repo_id"]]
    assert staged_repo["pulp2_object_id"] == str(repo["_id"])
    assert len(staged_repo["pulp2_object_id"]) == 24
    assert staged_repo["last_unit_added"] == repo["last_unit_added"].replace(tzinfo=UTC)
    assert staged_repo["last_unit_added"].tzinfo is not None
    membership = sample_docs["repo_content_units"][0]
    staged_membership = by(tables["pulp2_repo_content"], "pulp2_repo_id", "pulp2_unit_id")[
        membership["repo_id"], membership["unit_id"]
    ]
    assert staged_membership["created"] == iso(membership["created"])


async def test_running_twice_changes_nothing(
    pool: asyncpg.Pool, new_migration: NewMigration, sample: SampleSummary
) -> None:
    run = await run_for(new_migration, sample)
    await stage(pool, run)
    first = await snapshot(pool)
    await stage(pool, run)
    assert await snapshot(pool) == first  # same rows, same ids, flags untouched

    await mark_all_migrated(pool)
    migrated = await snapshot(pool)
    await stage(pool, run)
    assert await snapshot(pool) == migrated  # is_migrated and the mapping ids are kept


async def test_temporary_files_a_killed_process_left_are_removed(
    pool: asyncpg.Pool, new_migration: NewMigration, sample: SampleSummary, tmp_path: Path
) -> None:
    run = await run_for(new_migration, sample)
    media = tmp_path / "media"
    run = dataclasses.replace(run, settings=dataclasses.replace(run.settings, media_root=media))
    leftover = media / "artifact" / "ab" / ".tmp-killed.part"  # what a SIGKILL mid-copy leaves
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"half a file")
    kept = media / "artifact" / "ab" / "cdef"
    kept.write_bytes(b"a stored artifact")

    await stage(pool, run)

    assert not leftover.exists()
    assert kept.read_bytes() == b"a stored artifact"


async def test_work_needs_a_transaction(
    pool: asyncpg.Pool, new_migration: NewMigration, sample: SampleSummary
) -> None:
    run = await run_for(new_migration, sample)
    async with pool.acquire() as connection:
        with pytest.raises(NotInTransaction):
            await premigrate_dump(connection, run, {})


# ---------------------------------------------------------------------------------------------
# Incremental re-migration
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Changes:
    removed_unit: str
    updated_unit: str
    revised_unit: str  # one of its catalog entries changed
    dropped_membership: tuple[str, str]
    changed_importer: str
    changed_distributor: tuple[str, str]


def change(docs: Documents, base: Documents) -> Changes:
    """Edit a newer dump the way Pulp 2 would have changed between two runs."""
    old_units = {d["_id"] for d in base["units_iso"]}
    members: dict[str, list[str]] = {}
    for d in docs["repo_content_units"]:
        members.setdefault(d["unit_id"], []).append(d["repo_id"])
    lazy_units = {d["unit_id"] for d in docs["lazy_content_catalog"]}
    units = [d for d in docs["units_iso"] if d["_id"] in old_units]
    removed = next(d for d in units if not d["downloaded"] and d["_id"] in lazy_units)
    updated = next(d for d in units if d["downloaded"])
    shared = next(
        d for d in units if len(members[d["_id"]]) > 1 and d["_id"] not in (removed["_id"],)
    )
    dropped = (members[shared["_id"]][-1], shared["_id"])
    revised = next(
        d
        for d in units
        if d["_id"] in lazy_units and d["_id"] not in (removed["_id"], updated["_id"])
    )
    removal = datetime(2031, 1, 1)

    # An orphaned unit: gone with its memberships and catalog entries.
    docs["units_iso"] = [d for d in docs["units_iso"] if d is not removed]
    docs["repo_content_units"] = [
        d
        for d in docs["repo_content_units"]
        if d["unit_id"] != removed["_id"] and (d["repo_id"], d["unit_id"]) != dropped
    ]
    docs["lazy_content_catalog"] = [
        d for d in docs["lazy_content_catalog"] if d["unit_id"] != removed["_id"]
    ]
    touched = {*members[removed["_id"]], dropped[0]}
    for repo in docs["repos"]:
        if repo["repo_id"] in touched:
            repo["last_unit_removed"] = removal
    updated["_last_updated"] += 3600
    entry = next(d for d in docs["lazy_content_catalog"] if d["unit_id"] == revised["_id"])
    entry["revision"] += 1
    importer = docs["repo_importers"][1]
    importer["last_updated"] += timedelta(days=1)
    importer["config"]["ssl_validation"] = False
    distributor = docs["repo_distributors"][0]
    distributor["last_updated"] += timedelta(days=1)
    distributor["config"]["relative_url"] = "moved/elsewhere"
    return Changes(
        removed_unit=removed["_id"],
        updated_unit=updated["_id"],
        revised_unit=revised["_id"],
        dropped_membership=dropped,
        changed_importer=importer["repo_id"],
        changed_distributor=(distributor["repo_id"], distributor["distributor_id"]),
    )


def membership_sets(docs: Documents) -> dict[str, set[str]]:
    sets: dict[str, set[str]] = {d["repo_id"]: set() for d in docs["repos"]}
    for d in docs["repo_content_units"]:
        sets[d["repo_id"]].add(d["unit_id"])
    return sets


async def stage_merge_failed_half_way(
    pool: asyncpg.Pool, migration: Migration, repo_id: str
) -> list[dict[str, Any]]:
    """Load the dump and merge it in three ranges at once, the range of ``repo_id`` failing when
    it deletes one of that repository's memberships (a trigger: after it merged its units), the
    others committing; then run premigrate again, whole, as the next migration does. The units
    staged just after the failure."""
    async with pool.acquire() as connection:
        await connection.execute(
            "CREATE FUNCTION fail_merge() RETURNS trigger LANGUAGE plpgsql AS"
            " $$ BEGIN RAISE EXCEPTION 'merge failed half-way'; END $$"
        )
        await connection.execute(
            "CREATE TRIGGER fail_merge BEFORE DELETE ON pulp2_repo_content FOR EACH ROW"
            f" WHEN (OLD.pulp2_repo_id = {quote(repo_id)}) EXECUTE FUNCTION fail_merge()"
        )
    async with pool.acquire() as connection, connection.transaction():
        parts = await premigrate.STEP.plan_batches(connection, migration)
    assert await run_at_once(pool, migration, premigrate.STEP, parts) == [BatchResult(done=1)] * 4
    merged = await run_at_once(pool, migration, premigrate.MERGE_STEP, premigrate.merge_batches(3))
    failed = [result for result in merged if isinstance(result, asyncpg.RaiseError)]
    assert len(failed) == 1, merged
    assert merged.count(BatchResult(done=1)) == 2, merged
    half_way = (await snapshot(pool))["pulp2_content"]
    async with pool.acquire() as connection:
        await connection.execute("DROP TRIGGER fail_merge ON pulp2_repo_content")
    assert await stage_in_parts(pool, migration) == [BatchResult(done=1)] * 4
    return half_way


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@pytest.mark.parametrize(
    ("fmt", "compress", "how"),
    [("archive", True, "whole"), ("folder", False, "whole"), ("archive", False, "half-way")],
)
async def test_a_newer_dump_flags_only_what_changed(
    pool: asyncpg.Pool,
    new_migration: NewMigration,
    tmp_path: Path,
    fmt: DumpFormat,
    compress: bool,
    how: str,
) -> None:
    """``half-way``: the newer dump's merge fails with some of its ranges committed, and runs
    again: what the committed ranges flagged, the run again finds unchanged, and keeps."""
    first = generate_sample(
        tmp_path / "first", repos=8, units=300, fmt=fmt, gzip=compress, seed=SEED
    )
    # The same seed with two more units: the same installation, two syncs later.
    newer = generate_sample(
        tmp_path / "newer", repos=8, units=302, fmt=fmt, gzip=compress, seed=SEED
    )
    old_docs = read_dump(first.dump_path)
    new_docs = read_dump(newer.dump_path)
    assert {d["_id"] for d in old_docs["units_iso"]} < {d["_id"] for d in new_docs["units_iso"]}
    changes = change(new_docs, old_docs)
    second_dump = write_dump(tmp_path / "second", fmt, compress, new_docs)

    run = await run_for(new_migration, first)
    await stage(pool, run)
    await mark_all_migrated(pool)
    before = await snapshot(pool)
    if how == "whole":
        assert await stage(pool, reading(run, second_dump)) == BatchResult(done=1)
    else:
        half_way = await stage_merge_failed_half_way(
            pool, reading(run, second_dump), changes.dropped_membership[0]
        )
        # Units the run again finds unchanged: flagged by a committed range, kept (below).
        assert not_migrated(half_way, "pulp2_id"), "a committed range flagged units"
    after = await snapshot(pool)

    # Memberships are exactly the newer dump's: the dropped one and the orphan's are gone.
    assert staged_table(after, "pulp2_repo_content") == expected_memberships(new_docs)
    memberships = staged(after["pulp2_repo_content"], "pulp2_repo_id", "pulp2_unit_id")
    assert changes.dropped_membership not in memberships
    assert not any(unit == changes.removed_unit for _, unit in memberships)

    # Units: the new ones and the updated one are to migrate; the orphan stays staged, as is.
    old_ids = {d["_id"] for d in old_docs["units_iso"]}
    new_ids = {d["_id"] for d in new_docs["units_iso"]}
    content = by(after["pulp2_content"], "pulp2_id")
    assert set(content) == old_ids | new_ids
    assert not_migrated(after["pulp2_content"], "pulp2_id") == (new_ids - old_ids) | {
        changes.updated_unit,
        changes.revised_unit,
    }
    assert (
        content[changes.removed_unit]
        == by(before["pulp2_content"], "pulp2_id")[changes.removed_unit]
    )
    # Its catalog entries stay too; every other unit's entries are the newer dump's.
    kept = {row for row in expected_lazy(old_docs) if row[0] == changes.removed_unit}
    assert kept
    assert staged_table(after, "pulp2_lazy_catalog") == expected_lazy(new_docs) | kept

    # Repositories: those whose units were added or removed, and only those.
    old_repos = by(old_docs["repos"], "repo_id")
    old_members = membership_sets(old_docs)
    new_members = membership_sets(new_docs)
    changed_repos = {
        d["repo_id"]
        for d in new_docs["repos"]
        if (d.get("last_unit_added"), d.get("last_unit_removed"))
        != (
            old_repos[d["repo_id"]].get("last_unit_added"),
            old_repos[d["repo_id"]].get("last_unit_removed"),
        )
        or new_members[d["repo_id"]] != old_members[d["repo_id"]]
    }
    assert changed_repos, "the newer dump should change some repositories"
    assert set(old_repos) - changed_repos, "and leave some unchanged"
    assert not_migrated(after["pulp2_repository"], "pulp2_repo_id") == changed_repos
    assert not_migrated(after["pulp2_importer"], "pulp2_repo_id") == {changes.changed_importer}
    assert not_migrated(after["pulp2_distributor"], "pulp2_repo_id", "distributor_id") == {
        changes.changed_distributor
    }
    current = dict(after)
    current["pulp2_content"] = [r for r in after["pulp2_content"] if r["pulp2_id"] in new_ids]
    current["pulp2_lazy_catalog"] = [
        r for r in after["pulp2_lazy_catalog"] if r["pulp2_unit_id"] != changes.removed_unit
    ]
    assert_staged_as(current, new_docs)

    # Nothing that existed was re-created: ids and mapping ids are the same.
    for table, key in (
        ("pulp2_repository", ("pulp2_repo_id",)),
        ("pulp2_importer", ("pulp2_repo_id",)),
        ("pulp2_distributor", ("pulp2_repo_id", "distributor_id")),
        ("pulp2_content", ("pulp2_id",)),
    ):
        old_rows = by(before[table], *key)
        for k, row in by(after[table], *key).items():
            if k in old_rows:
                for column in row:
                    if column.startswith("pulp3_") or column in ("id", "pulp_id"):
                        assert row[column] == old_rows[k][column], (table, k, column)

    # And a re-run of the newer dump changes nothing more.
    await stage(pool, reading(run, second_dump))
    assert await snapshot(pool) == after


# ---------------------------------------------------------------------------------------------
# The plan
# ---------------------------------------------------------------------------------------------


async def test_repositories_the_plan_does_not_name_are_not_in_plan(
    pool: asyncpg.Pool, new_migration: NewMigration, sample: SampleSummary, sample_docs: Documents
) -> None:
    plan = json.loads(sample.plan_path.read_text())
    repositories = plan["plugins"][0]["repositories"]
    named = {repositories[0]["name"], repositories[1]["name"]}
    partial = {"plugins": [{"type": "iso", "repositories": repositories[:2]}]}
    run = await run_for(new_migration, sample, plan=partial)
    await stage(pool, run)
    rows = (await snapshot(pool))["pulp2_repository"]
    assert {r["pulp2_repo_id"] for r in rows if not r["not_in_plan"]} == named
    assert len(rows) == len(sample_docs["repos"])  # staged all the same

    # A plugin listed without repositories takes every repository of its type.
    await stage(pool, planning(run, {"plugins": [{"type": "iso"}]}))
    assert not any(r["not_in_plan"] for r in (await snapshot(pool))["pulp2_repository"])


# ---------------------------------------------------------------------------------------------
# Untrusted input
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True])
async def test_a_truncated_archive_fails_naming_the_file_and_stages_nothing(
    pool: asyncpg.Pool,
    new_migration: NewMigration,
    samples: dict[tuple[DumpFormat, bool], SampleSummary],
    tmp_path: Path,
    compress: bool,
) -> None:
    summary = samples["archive", compress]
    broken = truncated_copy(summary, tmp_path)
    run = await run_for(new_migration, summary, dump=broken)
    with pytest.raises(DumpUnreadable) as caught:
        await stage(pool, run)
    assert str(broken) in str(caught.value)
    assert "truncated" in str(caught.value) or "cannot read" in str(caught.value)
    assert all(not rows for rows in (await snapshot(pool)).values())


async def test_a_missing_dump_or_setting_fails_clearly(
    pool: asyncpg.Pool, new_migration: NewMigration, sample: SampleSummary, tmp_path: Path
) -> None:
    plan = json.loads(sample.plan_path.read_text())
    missing = tmp_path / "nowhere.archive"
    migration = await new_migration(plan, settings_for(missing))
    with pytest.raises(DumpUnreadable) as caught:
        await stage(pool, migration)
    assert str(missing) in str(caught.value)
    unset = dataclasses.replace(load_settings(), pulp2_dump=None)
    with pytest.raises(DumpUnreadable, match="PULP2TO3_PULP2_DUMP is not set"):
        await stage(pool, dataclasses.replace(migration, settings=unset))


async def test_duplicate_documents_are_merged_the_later_winning(
    pool: asyncpg.Pool,
    new_migration: NewMigration,
    sample: SampleSummary,
    sample_docs: Documents,
    tmp_path: Path,
) -> None:
    docs = copy.deepcopy(sample_docs)
    unit = copy.deepcopy(docs["units_iso"][3])
    unit["_last_updated"] += 60
    docs["units_iso"].append(unit)
    docs["repo_content_units"].append(copy.deepcopy(docs["repo_content_units"][5]))
    docs["repos"].append(copy.deepcopy(docs["repos"][2]))
    docs["repo_importers"].append(copy.deepcopy(docs["repo_importers"][2]))
    docs["repo_distributors"].append(copy.deepcopy(docs["repo_distributors"][0]))
    docs["lazy_content_catalog"].append(copy.deepcopy(docs["lazy_content_catalog"][0]))
    dump = write_dump(tmp_path / "dups", "archive", False, docs)

    result = await stage(pool, await run_for(new_migration, sample, dump=dump))

    assert result == BatchResult(done=1)
    tables = await snapshot(pool)
    assert len(tables["pulp2_content"]) == sample.units
    assert (
        by(tables["pulp2_content"], "pulp2_id")[unit["_id"]]["last_updated"]
        == unit["_last_updated"]
    )
    assert len(tables["pulp2_repo_content"]) == sample.memberships
    assert len(tables["pulp2_repository"]) == sample.repos
    assert len(tables["pulp2_importer"]) == sample.repos
    assert len(tables["pulp2_distributor"]) == sample.collection_counts["repo_distributors"]
    assert len(tables["pulp2_lazy_catalog"]) == sample.lazy_entries


async def test_malformed_documents_are_named_failures_the_rest_is_staged(
    pool: asyncpg.Pool,
    new_migration: NewMigration,
    sample: SampleSummary,
    sample_docs: Documents,
    tmp_path: Path,
) -> None:
    docs = copy.deepcopy(sample_docs)
    nameless = docs["units_iso"][0]
    nameless["name"] = "bad\x00name"
    del docs["repo_content_units"][0]["unit_id"]
    bad_membership = str(docs["repo_content_units"][0]["_id"])
    dump = write_dump(tmp_path / "bad", "folder", False, docs)

    result = await stage(pool, await run_for(new_migration, sample, dump=dump))

    assert result.done == 1
    assert dict(result.failures) == {
        f"units_iso/{nameless['_id']}": "name: a string holds a NUL character",
        f"repo_content_units/{bad_membership}": "no unit_id",
    }
    tables = await snapshot(pool)
    assert len(tables["pulp2_content"]) == sample.units - 1
    # The bad unit is not staged, so its memberships are not either.
    dropped = sum(1 for d in sample_docs["repo_content_units"] if d["unit_id"] == nameless["_id"])
    first = sample_docs["repo_content_units"][0]
    dropped += first["unit_id"] != nameless["_id"]
    assert len(tables["pulp2_repo_content"]) == sample.memberships - dropped


# ---------------------------------------------------------------------------------------------
# Size
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_sample(tmp_path_factory: pytest.TempPathFactory) -> SampleSummary:
    return generate_sample(
        tmp_path_factory.mktemp("big"), repos=20, units=20_000, seed=SEED, gzip=True
    )


async def test_twenty_thousand_units_are_all_staged(
    pool: asyncpg.Pool, new_migration: NewMigration, big_sample: SampleSummary
) -> None:
    """Many chunks, read ahead while the previous one is copied: none lost, none twice.
    (How fast, and how free the event loop stays: benchmarks/premigrate.py.)"""
    result = await stage(pool, await run_for(new_migration, big_sample))
    assert result.failures == ()
    async with pool.acquire() as connection:
        assert await connection.fetchval("SELECT count(*) FROM pulp2_content") == 20_000
        assert (
            await connection.fetchval("SELECT count(*) FROM pulp2_repo_content")
            == big_sample.memberships
        )


async def test_a_cancelled_load_stops_and_stages_nothing(
    pool: asyncpg.Pool, new_migration: NewMigration, big_sample: SampleSummary, db_url: str
) -> None:
    run = await run_for(new_migration, big_sample)
    work = asyncio.create_task(stage(pool, run), name="test_premigrate")
    observer = await asyncpg.connect(db_url)
    try:

        async def copying() -> bool:
            return bool(
                await observer.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid() AND query LIKE 'COPY %'"
                )
            )

        await eventually(copying, 30, "the load to COPY its first chunk")
        assert not work.done()  # 20,000 units are many chunks: the load is under way
    finally:
        await observer.close()
    work.cancel()
    with pytest.raises(asyncio.CancelledError):
        await work
    assert all(not rows for rows in (await snapshot(pool)).values())
    async with pool.acquire() as connection:  # the pool's connections are still usable
        assert await connection.fetchval("SELECT 1") == 1
