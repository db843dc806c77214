"""The database side of the RPM plugin: package fields in, a version's packages out.

The plugin's own types live above this layer, so packages cross it as mappings of the
``rpm_package`` columns (:data:`PACKAGE_COLUMNS`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import asyncpg

from pulp2to3.database import queries
from pulp2to3.store import content

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


@dataclasses.dataclass(frozen=True)
class PackageRow:
    """What one staged ``rpm``/``srpm`` unit becomes: content with its file, and its fields."""

    content: content.FileContentRow
    fields: Mapping[str, Any]  # every one of PACKAGE_COLUMNS


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
        await connection.execute(queries["rpm_insert_packages"], pulp_type)

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
