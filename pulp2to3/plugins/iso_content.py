"""The ISO content type: staged Pulp 2 ISO units become file content and artifacts.

A batch maps every unit (``plugins.iso``), stores the files of downloaded units as artifacts
(``plugins.unit_files``), then writes everything set-based (``store.content``). A unit that
cannot be migrated (bad fields, a missing or corrupt file, a path outside the Pulp 2 root) is a
per-unit failure: it stays unmigrated and the rest of the batch goes on.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from pulp2to3.plugins import ContentType, MigratedUnits, iso, split_outcomes, unit_files
from pulp2to3.settings import Settings
from pulp2to3.store import content

UnitResult = content.FileContentRow | str  # what a unit becomes, or why it cannot be migrated


def _row(
    unit: content.StagedUnit, file: iso.IsoFile, artifact: content.ArtifactRow | None
) -> content.FileContentRow:
    fields = file.fields
    return content.FileContentRow(
        unit_id=unit.id,
        natural_key=CONTENT_TYPE.natural_key_of(fields),
        repo_key=CONTENT_TYPE.repository_key_of(fields),
        relative_path=file.name,
        digest=file.checksum,
        size=file.size,
        artifact=artifact,
    )


async def _migrate_units(
    units: Sequence[content.StagedUnit], settings: Settings
) -> list[UnitResult]:
    """What each unit becomes, or why it cannot be migrated, in the order of ``units``."""
    outcomes: dict[int, UnitResult] = {}
    downloaded: list[tuple[content.StagedUnit, iso.IsoFile, unit_files.UnitFile]] = []
    for unit in units:
        try:
            file = iso.parse_fields(unit.fields)
        except iso.InvalidUnit as exc:
            outcomes[unit.id] = f"invalid iso unit: {exc}"
            continue
        if not unit.downloaded:
            outcomes[unit.id] = _row(unit, file, None)
        elif unit.storage_path is None:
            outcomes[unit.id] = "downloaded unit has no _storage_path"
        else:
            source = unit_files.UnitFile(unit.storage_path, file.size, file.checksum)
            downloaded.append((unit, file, source))
    imported = await unit_files.import_files([source for _, _, source in downloaded], settings)
    for (unit, file, _), stored in zip(downloaded, imported, strict=True):
        outcomes[unit.id] = (
            stored if isinstance(stored, str) else _row(unit, file, content.ArtifactRow.of(stored))
        )
    return [outcomes[unit.id] for unit in units]


async def migrate_iso_units(
    connection: asyncpg.Connection, units: Sequence[content.StagedUnit], settings: Settings
) -> MigratedUnits:
    """Migrate ``units`` (locked by the batch); idempotent, as it upserts on natural keys."""
    rows, failures = split_outcomes(units, await _migrate_units(units, settings))
    migrated = await content.save_file_content(connection, CONTENT_TYPE.pulp_type, rows)
    return MigratedUnits(migrated=migrated, failures=failures)


CONTENT_TYPE = ContentType(
    pulp2_type="iso",
    pulp_type="file.file",
    natural_key=("relative_path", "digest", "size"),
    repository_key=("relative_path",),
    description="Migrate ISO content: files become artifacts, units become file content",
    migrate=migrate_iso_units,
)
