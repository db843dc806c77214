"""The database side of the Debian plugin: packages, releases and components in, a version's
releases, components and their packages out.

The plugin's own types live above this layer: rows cross it as mappings of columns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from typing import Any

import asyncpg

from pulp2to3.database import queries
from pulp2to3.store import content

_PACKAGE_STAGE = "deb_package_stage"
# Rows fetched from the server at a time while a publication's packages are streamed.
PACKAGE_PREFETCH = 500
PACKAGE_COLUMNS = (
    "package",
    "version",
    "architecture",
    "source",
    "relative_path",
    "sha256",
    "size",
    "control",
)


@dataclasses.dataclass(frozen=True)
class PackageRow:
    """What a ``deb`` unit becomes: content with its file, and its fields (PACKAGE_COLUMNS;
    ``control`` as a list of [name, value] pairs)."""

    content: content.FileContentRow
    fields: Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class ReleaseRow:
    content: content.FileContentRow
    distribution: str
    codename: str
    suite: str | None


@dataclasses.dataclass(frozen=True)
class ComponentRow:
    content: content.FileContentRow
    release_id: int
    component: str
    package_ids: tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class StagedRelease:
    """A migrated ``deb_release`` unit of a Pulp 2 repository and the release it became."""

    content_id: int
    distribution: str
    suite: str | None


async def save_packages(
    connection: asyncpg.Connection, pulp_type: str, rows: Sequence[PackageRow]
) -> int:
    """Write ``rows`` (content, artifacts, package fields) and mark their units migrated;
    returns how many were marked. Idempotent."""

    async def package_fields(connection: asyncpg.Connection) -> None:
        await connection.execute(queries["deb_create_package_stage"])
        await connection.execute(queries["deb_clear_package_stage"])
        await connection.copy_records_to_table(
            _PACKAGE_STAGE,
            schema_name="pg_temp",
            records=[
                (row.content.natural_key, *(row.fields[name] for name in PACKAGE_COLUMNS))
                for row in rows
            ],
            columns=("natural_key", *PACKAGE_COLUMNS),
        )
        await connection.execute(queries["deb_insert_packages"], pulp_type)

    return await content.save_content(
        connection, pulp_type, [row.content for row in rows], package_fields
    )


async def lazy_units(connection: asyncpg.Connection, unit_ids: Collection[str]) -> set[str]:
    """The Pulp 2 units among ``unit_ids`` that have a lazy catalog entry."""
    rows = await connection.fetch(queries["deb_lazy_units"], sorted(unit_ids))
    return {row["pulp2_unit_id"] for row in rows}


async def save_releases(
    connection: asyncpg.Connection, pulp_type: str, rows: Sequence[ReleaseRow]
) -> int:
    """Write ``rows`` (content and release fields) and mark their units migrated."""

    async def release_fields(connection: asyncpg.Connection) -> None:
        await connection.execute(
            queries["deb_insert_releases"],
            pulp_type,
            [row.content.natural_key for row in rows],
            [row.distribution for row in rows],
            [row.codename for row in rows],
            [row.suite for row in rows],
        )

    return await content.save_content(
        connection, pulp_type, [row.content for row in rows], release_fields
    )


async def staged_releases(
    connection: asyncpg.Connection, repo_ids: Collection[str]
) -> dict[tuple[str, str, str], StagedRelease]:
    """(repo id, distribution as Pulp 2 kept it, codename) -> the release its unit became, for
    the migrated ``deb_release`` units of these Pulp 2 repositories."""
    rows = await connection.fetch(queries["deb_staged_releases"], sorted(repo_ids))
    return {
        (row["repo_id"], row["pulp2_distribution"], row["codename"]): StagedRelease(
            row["content_id"], row["distribution"], row["suite"]
        )
        for row in rows
    }


async def migrated_packages(
    connection: asyncpg.Connection, unit_ids: Collection[str]
) -> dict[str, int]:
    """Pulp 2 deb unit id -> the content it became, for those among ``unit_ids`` migrated."""
    rows = await connection.fetch(queries["deb_migrated_packages"], sorted(unit_ids))
    return {row["pulp2_id"]: row["pulp3_content_id"] for row in rows}


async def save_components(
    connection: asyncpg.Connection, pulp_type: str, rows: Sequence[ComponentRow]
) -> int:
    """Write ``rows`` (content, component fields, the packages of each) and mark their units
    migrated."""

    async def component_fields(connection: asyncpg.Connection) -> None:
        await connection.execute(
            queries["deb_insert_components"],
            pulp_type,
            [row.content.natural_key for row in rows],
            [row.release_id for row in rows],
            [row.component for row in rows],
        )
        members = [
            (row.content.natural_key, package) for row in rows for package in row.package_ids
        ]
        await connection.execute(
            queries["deb_insert_component_packages"],
            pulp_type,
            [key for key, _ in members],
            [package for _, package in members],
        )

    return await content.save_content(
        connection, pulp_type, [row.content for row in rows], component_fields
    )


async def version_releases(
    connection: asyncpg.Connection, publication_id: int
) -> list[Mapping[str, Any]]:
    """The releases in the version of ``publication_id`` (content_id, distribution, codename,
    suite)."""
    return [
        dict(row) for row in await connection.fetch(queries["deb_version_releases"], publication_id)
    ]


async def version_components(
    connection: asyncpg.Connection, publication_id: int
) -> list[Mapping[str, Any]]:
    """The release components in the version (content_id, release_id, component)."""
    return [
        dict(row)
        for row in await connection.fetch(queries["deb_version_components"], publication_id)
    ]


async def stream_version_packages(
    connection: asyncpg.Connection, publication_id: int
) -> AsyncIterator[Mapping[str, Any]]:
    """The packages of each component in the version that the version holds (release_id,
    component, PACKAGE_COLUMNS with ``control`` as pairs, content_artifact_id), by release,
    component and architecture, streamed by a cursor (needs a transaction)."""
    cursor = connection.cursor(
        queries["deb_version_packages"], publication_id, prefetch=PACKAGE_PREFETCH
    )
    async for row in cursor:
        yield dict(row)


async def stream_simple_packages(
    connection: asyncpg.Connection, publication_id: int, release_id: int, component: str
) -> AsyncIterator[Mapping[str, Any]]:
    """Every package the version holds, as rows of ``stream_version_packages`` of component
    ``component`` of release ``release_id``, by architecture, streamed by a cursor (needs a
    transaction)."""
    cursor = connection.cursor(
        queries["deb_version_simple_packages"],
        publication_id,
        release_id,
        component,
        prefetch=PACKAGE_PREFETCH,
    )
    async for row in cursor:
        yield dict(row)


async def publish_pool(
    connection: asyncpg.Connection, publication_id: int, files: Sequence[tuple[str, int]]
) -> None:
    """Publication ``publication_id`` publishes each content artifact at its pool path."""
    await connection.execute(
        queries["deb_publish_pool"],
        publication_id,
        [path for path, _ in files],
        [artifact for _, artifact in files],
    )
