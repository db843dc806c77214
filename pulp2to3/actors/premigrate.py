"""The premigrate step: stream the Pulp 2 dump into the staging tables, noting what changed.

The dump is cut into parts by collection (``dump_parts``), one batch each, which workers load
at the same time: a part COPYs its documents' rows into the load tables and commits. The part
that finds every part loaded merges the repositories, importers and distributors; the units,
their catalog entries and the memberships are merged by key range in the next step
(``premigrate_merge``, ``MERGE_STEP``), whose ranges workers run at the same time.
A part's reader blocks, so it runs in a thread, one chunk ahead of the COPY of the previous
chunk, and the event loop stays free for the worker's heartbeats and abort checks. Memory is
bounded by two chunks, whatever the size of the dump.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Generator, Mapping
from typing import Any

import asyncpg
import structlog

from pulp2to3 import storage
from pulp2to3.actors.steps import Batch, BatchResult, Migration, make_step, one_per_live_worker
from pulp2to3.encryption import Keys, load_keys
from pulp2to3.plan import Plan
from pulp2to3.plugins.pulp2_configs import SECRET_OPTIONS
from pulp2to3.plugins.registry import PLUGINS
from pulp2to3.pulp2.dump import open_dump
from pulp2to3.pulp2.errors import DumpError, DumpUnreadable
from pulp2to3.pulp2.staging import Rejected, StagedChunk, dump_parts, stage_dump
from pulp2to3.store import staging

log = structlog.get_logger(__name__)

STEP_CODE = "premigrate"
MERGE_STEP_CODE = "premigrate_merge"
CHUNK_DOCUMENTS = 10_000
# Parts of an archive each read it through (seeking past the other parts' documents, or
# decompressing them when gzipped); a folder's parts read their own files.
MAX_PARTS = 4
# The merge's key ranges: one per live worker, up to this many (a range reads the whole load
# tables to pick its rows, so a range more than workers costs a pass over them for nothing).
MAX_RANGES = 4
# Malformed documents are named one by one up to this many; the rest are counted in one line.
MAX_NAMED_REJECTS = 1_000


def plan_content_types(plan: Plan) -> list[str]:
    """The content types of the plan's plugins, in dependency order, each once."""
    types = (
        content_type.pulp2_type
        for plugin in plan.plugins
        for content_type in PLUGINS[plugin.type].content_order()
    )
    return list(dict.fromkeys(types))


def plan_binary_fields(plan: Plan) -> dict[str, tuple[str, ...]]:
    """The binary fields of the plan's content types (``ContentType.binary_fields``)."""
    return {
        content_type.pulp2_type: content_type.binary_fields
        for plugin in plan.plugins
        for content_type in PLUGINS[plugin.type].content_types
        if content_type.binary_fields
    }


def plan_staged_collections(plan: Plan) -> list[str]:
    """The other collections the plan's plugins read (``Plugin.staged_collections``)."""
    names = (name for plugin in plan.plugins for name in PLUGINS[plugin.type].staged_collections)
    return list(dict.fromkeys(names))


def planned_pulp2_repositories(plan: Plan) -> tuple[set[str], set[str]]:
    """The Pulp 2 repo ids the plan names, and the repository types it takes whole."""
    repo_ids: set[str] = set()
    repo_types: set[str] = set()
    for plugin in plan.plugins:
        if plugin.repositories is None:
            repo_types.add(PLUGINS[plugin.type].pulp2_repo_type)
            continue
        for repository in plugin.repositories:
            if repository.pulp2_importer_repository_id is not None:
                repo_ids.add(repository.pulp2_importer_repository_id)
            for version in repository.versions:
                repo_ids.add(version.pulp2_repository_id)
                repo_ids.update(version.pulp2_distributor_repository_ids)
    return repo_ids, repo_types


def _failures(rejected: list[Rejected], more: int) -> tuple[tuple[str, str], ...]:
    named = {item.label: item.reason for item in rejected}  # one per label: the table's key
    failures = tuple(named.items())
    if more:
        failures += (("(more documents)", f"{more} more malformed documents not named"),)
    return failures


class _Reader:
    """The blocking chunk generator, advanced in a thread, one chunk ahead of its consumer."""

    def __init__(self, chunks: Generator[StagedChunk, None, None]) -> None:
        self._chunks = chunks
        self._ahead: asyncio.Task[StagedChunk | None] | None = None

    def _read_ahead(self) -> None:
        self._ahead = asyncio.create_task(
            asyncio.to_thread(next, self._chunks, None), name="premigrate_read_dump"
        )

    async def next(self) -> StagedChunk | None:
        if self._ahead is None:
            self._read_ahead()
        assert self._ahead is not None
        chunk = await self._ahead
        self._ahead = None
        if chunk is not None:
            self._read_ahead()
        return chunk

    async def close(self) -> None:
        """Stop reading ahead; the thread finishes its chunk on its own, its result dropped."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            ahead.cancel()
            await asyncio.wait([ahead])
            if not ahead.cancelled():
                ahead.exception()  # retrieved, so asyncio does not report it as lost
        with contextlib.suppress(ValueError):  # still running in the thread: let it be
            self._chunks.close()


async def premigrate_dump(
    connection: asyncpg.Connection, migration: Migration, args: Mapping[str, Any]
) -> BatchResult:
    """Load part ``args["part"]`` (of ``args["parts"]``: the collections ``args["collections"]``)
    of the dump, in the caller's transaction (the batch's), and merge the repositories,
    importers and distributors if the others are loaded. Without ``args``, the whole dump is the
    one part, merged whole (the units and memberships too: one range)."""
    whole = "part" not in args
    part, parts = int(args.get("part", 0)), int(args.get("parts", 1))
    collections: list[str] | None = args.get("collections")
    await staging.start_part(connection, part)
    if whole:
        await staging.empty_load_tables(connection)
    if migration.settings.pulp2_dump is None:
        raise DumpUnreadable.not_configured()
    if part == 0:
        # Premigrate runs first in every migration: no batch is storing files now, so the
        # temporary files under the media root are leftovers of a killed process.
        removed = await asyncio.to_thread(
            storage.remove_temporary_files, migration.settings.media_root
        )
        if removed:
            log.warning("temporary_files_removed", files=removed)
    rejected, more = await _load_part(connection, migration, part, collections)
    if await staging.finish_part(connection, part, parts, collections):
        await reload_lost_parts(connection, migration)
        await staging.analyze_load_tables(connection)
        await _merge_repositories(connection, migration)
        if whole:
            await merge_key_range(connection, migration, 0, 1)
    return BatchResult(done=1, failures=_failures(rejected, more))


async def reload_lost_parts(connection: asyncpg.Connection, migration: Migration) -> None:
    """Load again the loaded parts whose rows a crash of PostgreSQL lost (the load tables are
    unlogged), under the parts' lock: held until commit, so that the others wait for them."""
    if not await staging.lost_parts(connection):
        return
    await staging.lock_load_parts(connection)
    for lost, lost_collections in await staging.lost_parts(connection):
        log.warning("premigrate_part_lost", part=lost, why="PostgreSQL recovered from a crash")
        await _load_part(connection, migration, lost, lost_collections)
        await staging.part_present(connection, lost)


async def _load_part(
    connection: asyncpg.Connection,
    migration: Migration,
    part: int,
    collections: list[str] | None,
) -> tuple[list[Rejected], int]:
    """COPY the rows of the part's collections (None: all) into the load tables; the
    documents rejected, named (up to ``MAX_NAMED_REJECTS``) and counted beyond."""
    path = migration.settings.pulp2_dump
    assert path is not None
    started = time.monotonic()
    try:
        dump = await asyncio.to_thread(open_dump, path)
        documents, rejected, more = await _load(
            connection,
            part,
            stage_dump(
                dump,
                plan_content_types(migration.plan),
                documents=plan_staged_collections(migration.plan),
                binary_fields=plan_binary_fields(migration.plan),
                chunk_documents=CHUNK_DOCUMENTS,
                part=collections,
            ),
            load_keys(migration.settings.db_encryption_key, migration.settings.data_dir),
        )
    except DumpError as exc:
        raise DumpUnreadable.because(exc) from exc
    log.info(
        "premigrate_part_loaded",
        dump=str(path),
        part=part,
        collections=collections,
        documents=documents,
        rejected=len(rejected) + more,
        load_seconds=round(time.monotonic() - started, 3),
    )
    return rejected, more


async def _merge_repositories(connection: asyncpg.Connection, migration: Migration) -> None:
    """Merge the loaded repositories, importers and distributors into the staging tables."""
    started = time.monotonic()
    repo_ids, repo_types = planned_pulp2_repositories(migration.plan)
    changes = await staging.merge_repositories(
        connection, planned_repo_ids=repo_ids, planned_repo_types=repo_types
    )
    log.info(
        "premigrate_repositories_merged",
        merge_seconds=round(time.monotonic() - started, 3),
        **changes.as_log(),
    )


async def merge_key_range(
    connection: asyncpg.Connection, migration: Migration, index: int, ranges: int
) -> None:
    """Merge key range ``index`` (of ``ranges``) of the loaded units, catalog entries and
    memberships into the staging tables; the last range to be merged empties the load tables."""
    started = time.monotonic()
    changes = await staging.merge_range(
        connection, content_types=plan_content_types(migration.plan), index=index, ranges=ranges
    )
    if await staging.finish_range(connection, index, ranges):
        await staging.empty_load_tables(connection)
    log.info(
        "premigrate_range_merged",
        range=index,
        ranges=ranges,
        merge_seconds=round(time.monotonic() - started, 3),
        **changes.as_log(),
    )


async def _load(
    connection: asyncpg.Connection,
    part: int,
    chunks: Generator[StagedChunk, None, None],
    keys: Keys,
) -> tuple[int, list[Rejected], int]:
    """COPY the chunks into the load tables as ``part``'s; the documents read and rejected."""
    await staging.load_as_part(connection, part)
    reader = _Reader(chunks)
    documents = 0
    rejected: list[Rejected] = []
    more = 0
    try:
        while (chunk := await reader.next()) is not None:
            await _seal_importers(connection, chunk, keys)
            await staging.copy_chunk(connection, chunk)
            documents += chunk.documents
            room = max(0, MAX_NAMED_REJECTS - len(rejected))
            rejected.extend(chunk.rejected[:room])
            more += len(chunk.rejected[room:])
    finally:
        await reader.close()
    return documents, rejected, more


async def _seal_importers(connection: asyncpg.Connection, chunk: StagedChunk, keys: Keys) -> None:
    """Encrypt the chunk's importer secrets before they reach PostgreSQL; a secret staged
    before keeps its token, so that an unchanged importer is not migrated again."""
    if not chunk.importers:
        return
    staged = await staging.importer_configs(
        connection, [row.pulp2_object_id for row in chunk.importers]
    )
    chunk.importers = [
        row._replace(config=keys.seal(row.config, SECRET_OPTIONS, staged.get(row.pulp2_object_id)))
        for row in chunk.importers
    ]


async def plan_batches(connection: asyncpg.Connection, migration: Migration) -> list[Batch]:
    """One batch per part of the dump; one for the whole dump when it cannot be opened here
    (its batch then fails saying why)."""
    await staging.clear_load_tables(connection)  # what a failed run left
    path = migration.settings.pulp2_dump
    try:
        available = None if path is None else (await asyncio.to_thread(open_dump, path))
    except DumpError:
        available = None
    if available is None:
        return [Batch(key="dump", units=1, args={})]
    parts = dump_parts(
        available.collections(),
        plan_content_types(migration.plan),
        plan_staged_collections(migration.plan),
        max_parts=MAX_PARTS,
    )
    return [
        Batch(
            key=f"part-{index}",
            units=1,
            args={"part": index, "parts": len(parts), "collections": collections},
        )
        for index, collections in enumerate(parts)
    ]


STEP = make_step(
    STEP_CODE, "Read the Pulp 2 dump into the staging tables", premigrate_dump, plan_batches
)


async def merge_dump_range(
    connection: asyncpg.Connection, migration: Migration, args: Mapping[str, Any]
) -> BatchResult:
    """Merge range ``args["range"]`` of ``args["ranges"]``, in the batch's transaction: a range
    that fails or is aborted half-way changes nothing; the ranges committed before stay merged,
    with the changes they flagged, and the next migration merges the whole dump again."""
    index, ranges = int(args["range"]), int(args["ranges"])
    # Merged already: this batch committed, then its worker died before the queue heard of it
    # (once every range is merged, the load tables hold no dump).
    if await staging.range_was_merged(connection, index) or not await staging.dump_loaded(
        connection
    ):
        return BatchResult(done=1)
    await reload_lost_parts(connection, migration)
    await merge_key_range(connection, migration, index, ranges)
    return BatchResult(done=1)


async def plan_merge_batches(connection: asyncpg.Connection, migration: Migration) -> list[Batch]:
    """One batch per key range: as many as workers are live (one at least, ``MAX_RANGES`` at
    most)."""
    return merge_batches(await one_per_live_worker(connection, MAX_RANGES))


def merge_batches(ranges: int) -> list[Batch]:
    """The merge cut into ``ranges`` key ranges, a batch each."""
    return [
        Batch(key=f"range-{index}", units=1, args={"range": index, "ranges": ranges})
        for index in range(ranges)
    ]


# The merge of what the parts loaded, by key range, that workers run at the same time.
MERGE_STEP = make_step(
    MERGE_STEP_CODE,
    "Merge the loaded dump into the staging tables",
    merge_dump_range,
    plan_merge_batches,
)
