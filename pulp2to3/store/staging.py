"""The staging tables' side of premigrate: COPY rows into load tables, then merge set-based.

Each part of the dump loads in its batch's transaction, so a batch that fails or is aborted
half-way leaves neither load rows nor staging changes; the merge of every part is one
transaction too (that of the part that finds the others loaded).
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
class StagingChanges:
    """What one merge changed in the staging tables."""

    repositories: Merged
    importers: Merged
    distributors: Merged
    content: Merged
    lazy_catalog: Merged
    lazy_catalog_deleted: int
    memberships: Merged
    memberships_deleted: int
    not_in_plan_changed: int
    distributions_removed: int  # those of repositories outside the plan

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


async def clear_load_tables(connection: asyncpg.Connection) -> None:
    """Forget what a failed load left (the coordinator plans a new one)."""
    await connection.execute(queries["staging_clear_load_tables"])


async def empty_load_tables(connection: asyncpg.Connection) -> None:
    """Empty the load tables (the merge is done, or a load of the whole dump starts)."""
    await connection.execute(queries["staging_empty_load_tables"])


async def start_part(connection: asyncpg.Connection, part: int) -> None:
    """Make ready to load ``part``: the rows an earlier attempt committed go."""
    if not connection.is_in_transaction():
        raise NotInTransaction("premigrate must run inside a transaction")
    if await connection.fetchval(queries["staging_part_was_loaded"], part):
        await connection.execute(queries["staging_lock_load_parts"])
        await connection.execute(queries["staging_forget_part"], part)


async def finish_part(
    connection: asyncpg.Connection, part: int, parts: int, collections: Sequence[str] | None
) -> bool:
    """Record ``part`` (of ``parts``; its ``collections``, None for all) as loaded; True when
    every part is loaded, then.

    Of parts that finish at the same time exactly one gets True: the checks take turns (a
    transaction lock), each seeing the parts that committed before it.
    """
    await connection.execute(queries["staging_lock_load_parts"])
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


async def merge_load_tables(
    connection: asyncpg.Connection,
    *,
    content_types: Collection[str],
    planned_repo_ids: Collection[str],
    planned_repo_types: Collection[str],
) -> StagingChanges:
    """Merge the loaded dump into the staging tables, recording what changed since last time.

    ``content_types`` are the types whose units were loaded: memberships of other types are
    left alone. Repositories are ``not_in_plan`` unless named in ``planned_repo_ids`` or of a
    type in ``planned_repo_types``; the distributions of those outside the plan are removed.
    """
    await connection.execute(queries["staging_merge_work_mem"])
    await connection.execute(queries["staging_analyze_load_tables"])
    repositories = await _merge(connection, "staging_merge_repositories")
    importers = await _merge(connection, "staging_merge_importers")
    distributors = await _merge(connection, "staging_merge_distributors")
    content = await _merge(connection, "staging_merge_content")
    lazy_deleted = await connection.fetchval(queries["staging_delete_vanished_lazy_catalog"])
    lazy = await _merge(connection, "staging_merge_lazy_catalog")
    memberships_deleted = await connection.fetchval(
        queries["staging_delete_vanished_repo_content"], sorted(content_types)
    )
    memberships = await _merge(connection, "staging_merge_repo_content")
    not_in_plan = await connection.fetchval(
        queries["staging_mark_not_in_plan"], sorted(planned_repo_ids), sorted(planned_repo_types)
    )
    distributions_removed = await connection.fetchval(
        queries["staging_remove_unplanned_distributions"]
    )
    return StagingChanges(
        repositories=repositories,
        importers=importers,
        distributors=distributors,
        content=content,
        lazy_catalog=lazy,
        lazy_catalog_deleted=lazy_deleted,
        memberships=memberships,
        memberships_deleted=memberships_deleted,
        not_in_plan_changed=not_in_plan,
        distributions_removed=distributions_removed,
    )
