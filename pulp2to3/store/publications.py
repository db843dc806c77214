"""The database side of create_publications and create_distributions.

Everything runs in the caller's transaction (the batch's). Rows become frozen objects here;
the actors never touch raw records.
"""

from __future__ import annotations

import dataclasses
import itertools
import operator
import uuid
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from typing import Any, NamedTuple

import asyncpg

from pulp2to3.database import queries
from pulp2to3.store import step_input
from pulp2to3.store.repositories import from_record, in_key_order, staged_config

# Rows fetched from the server at a time while a PULP_MANIFEST is streamed.
MANIFEST_PREFETCH = 2000


@dataclasses.dataclass(frozen=True)
class PlannedVersion:
    """The repository version that holds a plan version (``position`` in the plan's list of
    the repository's versions) now, and its publication when it has one."""

    name: str
    position: int
    version_id: int
    repository_id: int
    publication_id: int | None


class PublishedChunk(NamedTuple):
    """Some of the files of file content a publication publishes, the next in path order, as
    parallel columns: those of one fetch from the server. The rows of a fetch are grouped by
    publication and split into columns with comprehensions, so that a manifest is written with
    no Python work per file but its line (one object per row, then a check and a line each, were
    two thirds of the Python of a publication batch at 1,000,000 units)."""

    publication_id: int
    relative_paths: list[str]
    sha256s: list[str]
    sizes: list[int]


@dataclasses.dataclass(frozen=True)
class MetadataArtifact:
    """A generated file stored as an artifact, and the publication that publishes it."""

    publication_id: int
    sha256: str
    size: int
    file: str  # relative to the media root


@dataclasses.dataclass(frozen=True)
class Pulp2Distributor:
    pulp2_object_id: str
    pulp2_repo_id: str
    distributor_id: str
    distributor_type_id: str
    config: Mapping[str, Any]
    pulp3_distribution_id: int | None


@dataclasses.dataclass(frozen=True)
class DistributionRow:
    id: int
    name: str
    base_path: str
    publication_id: int | None


class Served(NamedTuple):
    """What a migrated distributor became: its distribution, serving this publication."""

    distribution_id: int
    publication_id: int


@dataclasses.dataclass(frozen=True)
class NewDistribution:
    name: str
    base_path: str
    publication_id: int


# ---------------------------------------------------------------------------------------------
# Publications
# ---------------------------------------------------------------------------------------------


async def planned_versions(
    connection: asyncpg.Connection, versions: Collection[tuple[str, int]]
) -> dict[tuple[str, int], PlannedVersion]:
    """For the plan versions ``(repository name, position)`` that a repository version holds,
    that version, with its publication if any."""
    ordered = sorted(versions)
    rows = await connection.fetch(
        queries["publications_versions"],
        [name for name, _ in ordered],
        [position for _, position in ordered],
    )
    return {(row["name"], row["position"]): from_record(PlannedVersion, row) for row in rows}


async def insert_publications(
    connection: asyncpg.Connection, pulp_type: str, version_ids: Collection[int]
) -> dict[int, int]:
    """A publication of each version that has none; ``{version id: new publication id}``."""
    rows = await connection.fetch(
        queries["publications_insert"], pulp_type, sorted(set(version_ids))
    )
    return {row["repository_version_id"]: row["id"] for row in rows}


class PublishedFiles:
    """What ``publish_version_files`` published of file content: the PULP_MANIFEST entries of
    each publication, by publication and path, streamed from the server ``MANIFEST_PREFETCH``
    at a time (memory stays bounded however big the versions are), as chunks: a publication's
    files come in one chunk per fetch they span, one after the other, so a reader appends."""

    def __init__(self, cursor: asyncpg.cursor.Cursor[asyncpg.Record], first: list[Any]) -> None:
        self._cursor = cursor
        self._first = first

    async def __aiter__(self) -> AsyncIterator[PublishedChunk]:
        rows = self._first
        while rows:
            # The statement returns publication id, relative path, sha256, size, in this order.
            for publication_id, group in itertools.groupby(rows, key=operator.itemgetter(0)):
                files = list(group)
                yield PublishedChunk(
                    publication_id,
                    [file[1] for file in files],
                    [file[2] for file in files],
                    [file[3] for file in files],
                )
            rows = await self._cursor.fetch(MANIFEST_PREFETCH)


def input_part(version_id: int, parts: int) -> int:
    """The part of ``parts`` of create_publications' input that has the files of a version (as
    ``publications_compute_published_file_input`` cuts it)."""
    return version_id % parts


async def prepare_version_files(
    connection: asyncpg.Connection,
    step_code: str,
    migration_id: uuid.UUID,
    versions: Collection[tuple[str, int]],
    part: int,
    parts: int,
) -> None:
    """Part ``part`` of ``parts`` of the step's input (``store.step_input``, recorded as
    ``<step_code>#<part>``): the files a publication of each version whose id is ``part`` modulo
    ``parts``, that holds one of these plan versions ``(repository name, position)`` and has
    none, would publish (``publish_version_files``). Parts are computed by different batches at
    once; a batch that needs several computes them in part order."""
    ordered = sorted(versions)

    async def compute() -> None:
        await connection.execute(queries["publications_clear_published_file_input"], parts, part)
        await connection.execute(
            queries["publications_compute_published_file_input"],
            [name for name, _ in ordered],
            [position for _, position in ordered],
            parts,
            part,
        )

    await step_input.ensure(
        connection, f"{step_code}#{part}", migration_id, [parts, ordered], compute
    )


async def publish_version_files(
    connection: asyncpg.Connection, publication_ids: Collection[int]
) -> PublishedFiles:
    """Publish every content file of each new publication's version (``prepare_version_files``'
    input, which must cover their versions), in one statement for them all; the entries of
    their manifests stream from what this returns (needs a transaction)."""
    cursor = await connection.cursor(
        queries["publications_publish_version_files"], sorted(publication_ids)
    )
    return PublishedFiles(cursor, await cursor.fetch(MANIFEST_PREFETCH))


async def publish_metadata(
    connection: asyncpg.Connection, relative_path: str, files: Sequence[MetadataArtifact]
) -> None:
    """Store the files as artifacts and publish each at ``relative_path`` of its publication."""
    if not files:
        return
    await connection.execute(
        queries["publications_insert_artifacts"],
        [file.sha256 for file in files],
        [file.size for file in files],
        [file.file for file in files],
    )
    await connection.execute(
        queries["publications_insert_published_metadata"],
        [file.publication_id for file in files],
        [file.sha256 for file in files],
        relative_path,
    )


async def mark_published_distributors(
    connection: asyncpg.Connection,
    publications: Mapping[str, int],
    distributor_types: Sequence[str],
) -> None:
    """Record that the distributors of each Pulp 2 repository publish its publication."""
    await connection.execute(
        queries["publications_mark_pulp2_distributors"],
        *in_key_order(publications),
        list(distributor_types),
    )


# ---------------------------------------------------------------------------------------------
# Distributions
# ---------------------------------------------------------------------------------------------


async def pulp2_distributors(
    connection: asyncpg.Connection,
    pulp2_repo_ids: Collection[str],
    distributor_types: Sequence[str],
) -> list[Pulp2Distributor]:
    """The staged distributors of these types of these Pulp 2 repositories."""
    rows = await connection.fetch(
        queries["distributions_pulp2_distributors"],
        sorted(pulp2_repo_ids),
        list(distributor_types),
    )
    return [from_record(Pulp2Distributor, row, config=staged_config(row)) for row in rows]


async def insert_distributions(
    connection: asyncpg.Connection, pulp_type: str, distributions: Sequence[NewDistribution]
) -> dict[str, int]:
    """Insert each distribution whose name and base path are free; ``{name: id}`` of those.

    A base path taken by a batch that has not committed yet waits for it: when it commits,
    the distribution here is skipped, so two batches never both take one base path.
    """
    rows = await connection.fetch(
        queries["distributions_insert"],
        pulp_type,
        [d.name for d in distributions],
        [d.base_path for d in distributions],
        [d.publication_id for d in distributions],
    )
    return {row["name"]: row["id"] for row in rows}


async def distribution_holders(
    connection: asyncpg.Connection,
    names: Collection[str],
    base_paths: Collection[str],
    ids: Collection[int],
) -> list[DistributionRow]:
    """The distributions that hold one of these names or base paths, or have one of these ids."""
    rows = await connection.fetch(
        queries["distributions_holders"], sorted(names), sorted(base_paths), sorted(ids)
    )
    return [from_record(DistributionRow, row) for row in rows]


async def overlapping_distributions(
    connection: asyncpg.Connection, base_paths: Collection[str]
) -> dict[str, list[DistributionRow]]:
    """Lock the first segments of these base paths until the transaction ends (a concurrent
    batch with the same first segment waits), then return, for each base path, the
    distributions whose base path is one of its folders or has it as a folder."""
    roots = sorted({base_path.split("/", 1)[0] for base_path in base_paths})
    await connection.execute(queries["distributions_lock_base_path_roots"], roots)
    rows = await connection.fetch(queries["distributions_overlapping"], sorted(base_paths))
    overlapping: dict[str, list[DistributionRow]] = {}
    for row in rows:
        overlapping.setdefault(row["wanted"], []).append(from_record(DistributionRow, row))
    return overlapping


async def set_distribution_publications(
    connection: asyncpg.Connection, publications: Mapping[int, int]
) -> None:
    """Point each distribution (by id) at its publication."""
    await connection.execute(queries["distributions_set_publications"], *in_key_order(publications))


async def move_distribution(
    connection: asyncpg.Connection, distribution_id: int, base_path: str, publication_id: int
) -> bool:
    """Serve a distribution at another base path; False (and nothing changed) when taken."""
    try:
        async with connection.transaction():  # a savepoint: a refusal must not end the batch's
            await connection.execute(
                queries["distributions_move"], distribution_id, base_path, publication_id
            )
    except asyncpg.UniqueViolationError:
        return False
    return True


async def mark_distributors(connection: asyncpg.Connection, migrated: Mapping[str, Served]) -> None:
    """Record what each distributor (by object id) became; migrated."""
    object_ids = sorted(migrated)
    await connection.execute(
        queries["distributions_mark_pulp2_distributors"],
        object_ids,
        [migrated[object_id].distribution_id for object_id in object_ids],
        [migrated[object_id].publication_id for object_id in object_ids],
    )
