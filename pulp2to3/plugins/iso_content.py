"""The ISO content type: staged Pulp 2 ISO units become file content and artifacts.

A batch maps every unit (``plugins.iso``), stores the files of downloaded units as artifacts
(``plugins.unit_files``), then writes everything set-based (``store.content``). A unit that
cannot be migrated (bad fields, a missing or corrupt file, a path outside the Pulp 2 root) is a
per-unit failure: it stays unmigrated and the rest of the batch goes on.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import asyncpg

from pulp2to3 import storage
from pulp2to3.plugins import ContentType, MigratedUnits, iso, split_outcomes, unit_files
from pulp2to3.settings import Settings
from pulp2to3.store import content


def _row(
    content_type: ContentType,
    unit: content.StagedUnit,
    file: iso.IsoFile,
    stored: storage.StoredArtifact | None,
) -> content.FileContentRow:
    fields = file.fields
    return content.FileContentRow(
        unit_id=unit.id,
        natural_key=content_type.natural_key_of(fields),
        repo_key=content_type.repository_key_of(fields),
        relative_path=file.name,
        digest=file.checksum,
        size=file.size,
        artifact=None if stored is None else content.ArtifactRow.of(stored),
    )


def _decode(unit: content.StagedUnit) -> iso.IsoFile | str:
    try:
        return iso.parse_fields(unit.fields)
    except iso.InvalidUnit as exc:
        return f"invalid iso unit: {exc}"


async def migrate_iso_units(
    content_type: ContentType,
    connection: asyncpg.Connection,
    units: Sequence[content.StagedUnit],
    settings: Settings,
) -> MigratedUnits:
    """Migrate ``units`` (locked by the batch); idempotent, as it upserts on natural keys."""
    outcomes = await unit_files.units_with_artifacts(
        units,
        settings,
        _decode,
        lambda file: (file.size, file.checksum),
        functools.partial(_row, content_type),
    )
    rows, failures = split_outcomes(units, outcomes)
    migrated = await content.save_file_content(connection, content_type.pulp_type, rows)
    return MigratedUnits(migrated=migrated, failures=failures)


CONTENT_TYPE = ContentType(
    pulp2_type="iso",
    pulp_type="file.file",
    natural_key=("relative_path", "digest", "size"),
    repository_key=("relative_path",),
    description="Migrate ISO content: files become artifacts, units become file content",
    migrate=migrate_iso_units,
)
