"""The staging tables' side of premigrate: COPY rows into load tables, then merge set-based.

Each part of the dump loads in its batch's transaction, so a batch that fails or is aborted
half-way leaves neither load rows nor staging changes. The part that finds the others loaded
merges the repositories, importers and distributors; then each key range of the units, their
catalog entries and the memberships merges in its own transaction (a batch of
premigrate_merge), and the last range to finish empties the load tables.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence
from typing import Any, NamedTuple

import asyncpg

from pulp2to3.database import queries
from pulp2to3.pulp2.staging import (
    ContentRow,
    DistributorRow,
    ImporterRow,
    LazyCatalogRow,
    RepoContentRow,
    RepositoryRow,
    StagedChunk,
)

# Each load table by the row type whose fields are its columns after ``part`` and ``seq`` (both
# defaults), in order.
LOAD_TABLES: Mapping[str, type[NamedTuple]] = {
    "premigrate_load_repository": RepositoryRow,
    "premigrate_load_importer": ImporterRow,
    "premigrate_load_distributor": DistributorRow,
    "premigrate_load_repo_content": RepoContentRow,
    "premigrate_load_content": ContentRow,
    "premigrate_load_lazy_catalog": LazyCatalogRow,
}


class NotInTransaction(RuntimeError):
    """The load tables live until commit: loading outside a transaction would lose them."""


@dataclasses.dataclass(frozen=True)
class Merged:
    inserted: int = 0
    updated: int = 0


@dataclasses.dataclass(frozen=True)
class _Changes:
    """What a merge changed in the staging tables, flat for a log line."""

    def as_log(self) -> dict[str, int]:
        flat: dict[str, int] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, Merged):
                flat[f"{field.name}_inserted"] = value.inserted
                flat[f"{field.name}_updated"] = value.updated
            else:
                flat[field.name] = value
        return flat


@dataclasses.dataclass(frozen=True)
class RepositoryChanges(_Changes):
    """What the merge of the repositories, importers and distributors changed."""

    repositories: Merged
    importers: Merged
    distributors: Merged
    not_in_plan_changed: int
    distributions_removed: int  # those of repositories outside the plan


@dataclasses.dataclass(frozen=True)
class RangeChanges(_Changes):
    """What the merge of a key range of units and memberships changed."""

    content: Merged
    lazy_catalog: Merged
    lazy_catalog_deleted: int
    memberships: Merged
    memberships_deleted: int


async def clear_load_tables(connection: asyncpg.Connection) -> None:
    """Forget what a failed load left (the coordinator plans a new one)."""
    await connection.execute(queries["staging_clear_load_tables"])


async def empty_load_tables(connection: asyncpg.Connection) -> None:
    """Empty the load tables (the merge is done, or a load of the whole dump starts)."""
    await connection.execute(queries["staging_empty_load_tables"])


async def lock_load_parts(connection: asyncpg.Connection) -> None:
    """Take turns at the parts' and ranges' bookkeeping, until commit."""
    await connection.execute(queries["staging_lock_load_parts"])


async def start_part(connection: asyncpg.Connection, part: int) -> None:
    """Make ready to load ``part``: the rows an earlier attempt committed go."""
    if not connection.is_in_transaction():
        raise NotInTransaction("premigrate must run inside a transaction")
    if await connection.fetchval(queries["staging_part_was_loaded"], part):
        await lock_load_parts(connection)
        await connection.execute(queries["staging_forget_part"], part)


async def finish_part(
    connection: asyncpg.Connection, part: int, parts: int, collections: Sequence[str] | None
) -> bool:
    """Record ``part`` (of ``parts``; its ``collections``, None for all) as loaded; True when
    every part is loaded, then.

    Of parts that finish at the same time exactly one gets True: the checks take turns (a
    transaction lock), each seeing the parts that committed before it.
    """
    await lock_load_parts(connection)
    await connection.execute(queries["staging_part_loaded"], part, parts, collections)
    return bool(await connection.fetchval(queries["staging_all_parts_loaded"], parts))


async def lost_parts(connection: asyncpg.Connection) -> list[tuple[int, list[str] | None]]:
    """The loaded parts whose rows a crash of PostgreSQL lost (the load tables are unlogged),
    with their collections: the merge loads them again (then ``part_present``)."""
    rows = await connection.fetch(queries["staging_lost_parts"])
    return [(row["part"], row["collections"]) for row in rows]


async def part_present(connection: asyncpg.Connection, part: int) -> None:
    await connection.execute(queries["staging_part_present"], part)


async def load_as_part(connection: asyncpg.Connection, part: int) -> None:
    """The rows :func:`copy_chunk` loads from now on in this transaction are ``part``'s."""
    await connection.execute(queries["staging_load_as_part"], str(part))


async def _copy(connection: asyncpg.Connection, table: str, rows: Sequence[Any]) -> None:
    if rows:
        await connection.copy_records_to_table(
            table, records=rows, columns=list(LOAD_TABLES[table]._fields)
        )


async def importer_configs(
    connection: asyncpg.Connection, object_ids: Collection[str]
) -> dict[str, Mapping[str, Any]]:
    """The staged config of each of these importers (by object id) that is staged."""
    rows = await connection.fetch(queries["staging_importer_configs"], sorted(object_ids))
    return {row["pulp2_object_id"]: row["config"] for row in rows if row["config"]}


async def copy_chunk(connection: asyncpg.Connection, chunk: StagedChunk) -> None:
    """COPY a chunk's rows into the load tables (as the part :func:`load_as_part` named): one
    COPY per table that has rows."""
    await _copy(connection, "premigrate_load_repository", chunk.repositories)
    await _copy(connection, "premigrate_load_importer", chunk.importers)
    await _copy(connection, "premigrate_load_distributor", chunk.distributors)
    await _copy(connection, "premigrate_load_repo_content", chunk.memberships)
    await _copy(connection, "premigrate_load_content", chunk.content)
    await _copy(connection, "premigrate_load_lazy_catalog", chunk.lazy_catalog)


async def _merge(connection: asyncpg.Connection, query: str, *args: object) -> Merged:
    row = await connection.fetchrow(queries[query], *args)
    assert row is not None
    return Merged(inserted=row["inserted"], updated=row["updated"])


async def analyze_load_tables(connection: asyncpg.Connection) -> None:
    """Give the planner the loaded tables' statistics (they were empty a moment ago)."""
    await connection.execute(queries["staging_analyze_load_tables"])


async def merge_repositories(
    connection: asyncpg.Connection,
    *,
    planned_repo_ids: Collection[str],
    planned_repo_types: Collection[str],
) -> RepositoryChanges:
    """Merge the loaded repositories, importers and distributors into the staging tables,
    recording what changed since last time.

    Repositories are ``not_in_plan`` unless named in ``planned_repo_ids`` or of a type in
    ``planned_repo_types``; the distributions of those outside the plan are removed.
    """
    repositories = await _merge(connection, "staging_merge_repositories")
    importers = await _merge(connection, "staging_merge_importers")
    distributors = await _merge(connection, "staging_merge_distributors")
    not_in_plan = await connection.fetchval(
        queries["staging_mark_not_in_plan"], sorted(planned_repo_ids), sorted(planned_repo_types)
    )
    distributions_removed = await connection.fetchval(
        queries["staging_remove_unplanned_distributions"]
    )
    return RepositoryChanges(
        repositories=repositories,
        importers=importers,
        distributors=distributors,
        not_in_plan_changed=not_in_plan,
        distributions_removed=distributions_removed,
    )


async def merge_range(
    connection: asyncpg.Connection, *, content_types: Collection[str], index: int, ranges: int
) -> RangeChanges:
    """Merge key range ``index`` (of ``ranges``) of the loaded units, catalog entries and
    memberships into the staging tables, recording what changed since last time.

    ``content_types`` are the types whose units were loaded: memberships of other types are
    left alone. The ranges may merge at the same time, in any order (staging.sql says why).
    """
    await connection.execute(queries["staging_merge_work_mem"])
    content = await _merge(connection, "staging_merge_content", ranges, index)
    lazy_deleted = await connection.fetchval(
        queries["staging_delete_vanished_lazy_catalog"], ranges, index
    )
    lazy = await _merge(connection, "staging_merge_lazy_catalog", ranges, index)
    memberships_deleted = await connection.fetchval(
        queries["staging_delete_vanished_repo_content"], ranges, index, sorted(content_types)
    )
    memberships = await _merge(connection, "staging_merge_repo_content", ranges, index)
    return RangeChanges(
        content=content,
        lazy_catalog=lazy,
        lazy_catalog_deleted=lazy_deleted,
        memberships=memberships,
        memberships_deleted=memberships_deleted,
    )


async def dump_loaded(connection: asyncpg.Connection) -> bool:
    """Whether the load tables hold every part of a dump, to merge."""
    return bool(await connection.fetchval(queries["staging_dump_loaded"]))


async def range_was_merged(connection: asyncpg.Connection, index: int) -> bool:
    return bool(await connection.fetchval(queries["staging_range_was_merged"], index))


async def finish_range(connection: asyncpg.Connection, index: int, ranges: int) -> bool:
    """Record range ``index`` (of ``ranges``) as merged; True when every range is merged, then
    (exactly one of ranges that finish at the same time: as :func:`finish_part`)."""
    await lock_load_parts(connection)
    await connection.execute(queries["staging_range_merged"], index, ranges)
    return bool(await connection.fetchval(queries["staging_all_ranges_merged"], ranges))
