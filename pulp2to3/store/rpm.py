"""The database side of the RPM plugin: package fields in, a version's packages out.

The plugin's own types live above this layer, so packages cross it as mappings of the
``rpm_package`` columns (:data:`PACKAGE_COLUMNS`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from typing import Any

import asyncpg

from pulp2to3.database import queries
from pulp2to3.store import content
from pulp2to3.store.content import FileContentRow

# Rows fetched from the server at a time while a publication's packages are streamed.
PACKAGE_PREFETCH = 500
PACKAGE_COLUMNS = (
    "name",
    "epoch",
    "version",
    "release",
    "arch",
    "checksum_type",
    "pkg_id",
    "location_href",
    "is_modular",
    "primary_xml",
    "filelists_xml",
    "other_xml",
)
_STAGE = "rpm_package_stage"
_METADATA_STAGE = "rpm_metadata_stage"
Nevra = tuple[str, str, str, str, str]  # name, epoch, version, release, arch


@dataclasses.dataclass(frozen=True)
class PackageRow:
    """What one staged ``rpm``/``srpm`` unit becomes: content with its file, and its fields."""

    content: content.FileContentRow
    fields: Mapping[str, Any]  # every one of PACKAGE_COLUMNS


@dataclasses.dataclass(frozen=True)
class MetadataRow:
    """What a staged unit of the other RPM types becomes: content (with a file or not), its
    kind, its decoded object as JSON data, and its YAML snippet if it has one."""

    content: content.FileContentRow
    kind: str
    data: Any
    snippet: str | None
    files: tuple[FileContentRow, ...] = ()  # its other files (a tree's images)


@dataclasses.dataclass(frozen=True)
class VersionMetadata:
    """One content of a kind in a publication's version."""

    data: Any
    snippet: str | None
    file: str | None  # its artifact's file, relative to the media root


@dataclasses.dataclass(frozen=True)
class VersionPackages:
    """How many packages a publication's version holds, and their most common checksum type."""

    count: int
    checksum_type: str | None


async def save_packages(
    connection: asyncpg.Connection, pulp_type: str, rows: Sequence[PackageRow]
) -> int:
    """Write ``rows`` (content, artifacts, package fields) and mark their units migrated;
    returns how many were marked. Idempotent."""

    async def package_fields(connection: asyncpg.Connection) -> None:
        await connection.execute(queries["rpm_create_package_stage"])
        await connection.execute(queries["rpm_drop_stage_content_id"])
        await connection.execute(queries["rpm_clear_package_stage"])
        await connection.copy_records_to_table(
            _STAGE,
            schema_name="pg_temp",
            records=[
                (row.content.natural_key, *(row.fields[name] for name in PACKAGE_COLUMNS))
                for row in rows
            ],
            columns=("natural_key", *PACKAGE_COLUMNS),
        )
        await connection.execute(queries["rpm_insert_packages"])

    return await content.save_content(
        connection, pulp_type, [row.content for row in rows], package_fields
    )


async def version_packages(connection: asyncpg.Connection, publication_id: int) -> VersionPackages:
    row = await connection.fetchrow(queries["rpm_version_package_count"], publication_id)
    assert row is not None
    return VersionPackages(count=row["packages"], checksum_type=row["checksum_type"])


async def stream_packages(
    connection: asyncpg.Connection, publication_id: int
) -> AsyncIterator[Mapping[str, Any]]:
    """The packages of publication ``publication_id``'s version (``PACKAGE_COLUMNS``), streamed
    by a cursor: memory stays bounded however big the repository (needs a transaction)."""
    cursor = connection.cursor(
        queries["rpm_version_packages"], publication_id, prefetch=PACKAGE_PREFETCH
    )
    async for row in cursor:
        yield dict(row)


async def save_metadata(
    connection: asyncpg.Connection, pulp_type: str, rows: Sequence[MetadataRow]
) -> int:
    """Write ``rows`` (content, artifacts, decoded data) and mark their units migrated;
    returns how many were marked. Idempotent."""

    async def metadata(connection: asyncpg.Connection) -> None:
        await connection.execute(queries["rpm_create_metadata_stage"])
        await connection.execute(queries["rpm_clear_metadata_stage"])
        await connection.copy_records_to_table(
            _METADATA_STAGE,
            schema_name="pg_temp",
            records=[(row.content.natural_key, row.kind, row.data, row.snippet) for row in rows],
            columns=("natural_key", "kind", "data", "snippet"),
        )
        await connection.execute(queries["rpm_insert_metadata"])

    return await content.save_content(
        connection,
        pulp_type,
        [file for row in rows for file in (row.content, *row.files)],
        metadata,
    )


async def pkglists(
    connection: asyncpg.Connection, errata_ids: Collection[str]
) -> dict[str, list[Mapping[str, Any]]]:
    """The staged ``erratum_pkglists`` documents of each erratum, in dump order."""
    lists: dict[str, list[Mapping[str, Any]]] = {}
    for row in await connection.fetch(queries["rpm_pkglists"], sorted(errata_ids)):
        lists.setdefault(row["errata_id"], []).append(row["fields"])
    return lists


def _columns(nevras: Sequence[Nevra]) -> list[list[str]]:
    return [[nevra[index] for nevra in nevras] for index in range(5)]


async def absent_nevras(connection: asyncpg.Connection, nevras: Collection[Nevra]) -> set[Nevra]:
    """The NEVRAs among ``nevras`` that no migrated package has."""
    rows = await connection.fetch(queries["rpm_absent_nevras"], *_columns(sorted(nevras)))
    return {(r["name"], r["epoch"], r["version"], r["release"], r["arch"]) for r in rows}


async def link_module_packages(
    connection: asyncpg.Connection, module_type: str, artifacts: Sequence[tuple[str, Nevra]]
) -> None:
    """Relate each module (by natural key) to the packages its artifact NEVRAs name."""
    ordered = sorted(artifacts)
    await connection.execute(
        queries["rpm_link_module_packages"],
        [module_key for module_key, _ in ordered],
        *_columns([nevra for _, nevra in ordered]),
        module_type,
    )


async def absent_groups(
    connection: asyncpg.Connection, groups: Collection[tuple[str, str]]
) -> set[tuple[str, str]]:
    """The ``(Pulp 2 repo id, group id)`` pairs among ``groups`` that no migrated group has."""
    ordered = sorted(groups)
    rows = await connection.fetch(
        queries["rpm_absent_groups"],
        [repo_id for repo_id, _ in ordered],
        [group_id for _, group_id in ordered],
    )
    return {(row["repo_id"], row["group_id"]) for row in rows}


async def publish_files(connection: asyncpg.Connection, publication_ids: Collection[int]) -> None:
    """Publish the package and kickstart tree files of each publication's version."""
    await connection.execute(queries["rpm_publish_files"], sorted(publication_ids))


async def version_metadata(
    connection: asyncpg.Connection, publication_id: int, kind: str
) -> list[VersionMetadata]:
    """The content of ``kind`` in publication ``publication_id``'s version (modules, comps
    entries, metadata files: a repository holds few)."""
    rows = await connection.fetch(queries["rpm_version_metadata"], publication_id, kind)
    return [VersionMetadata(row["data"], row["snippet"], row["file"]) for row in rows]


async def stream_advisories(
    connection: asyncpg.Connection, publication_id: int
) -> AsyncIterator[tuple[Any, list[Nevra]]]:
    """Each advisory of the publication's version (its data) with the NEVRAs of its packages
    the version holds, streamed by a cursor (needs a transaction)."""
    cursor = connection.cursor(
        queries["rpm_version_advisories"], publication_id, prefetch=PACKAGE_PREFETCH
    )
    async for row in cursor:
        yield row["data"], [tuple(nevra) for nevra in row["held"]]
