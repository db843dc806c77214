"""The database side of the migrate_content steps: staged units in, target content out."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import asyncpg

from pulp2to3 import storage
from pulp2to3.database import queries

_FILE_STAGE = "content_file_stage"
_FILE_STAGE_COLUMNS = (
    "unit_id",
    "natural_key",
    "repo_key",
    "relative_path",
    "digest",
    "size",
    "artifact_sha256",
    "artifact_size",
    "artifact_file",
)


@dataclasses.dataclass(frozen=True)
class UnitRange:
    """Consecutive staged units of one type (by id), the work of one batch."""

    first_id: int
    last_id: int
    units: int


@dataclasses.dataclass(frozen=True)
class StagedUnit:
    """A Pulp 2 unit as premigrate staged it."""

    id: int
    pulp2_id: str
    storage_path: str | None
    downloaded: bool
    fields: Mapping[str, Any]

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> StagedUnit:
        return cls(
            id=row["id"],
            pulp2_id=row["pulp2_id"],
            storage_path=row["storage_path"],
            downloaded=row["downloaded"],
            fields=row["fields"],
        )


@dataclasses.dataclass(frozen=True)
class ArtifactRow:
    sha256: str
    size: int
    file: str  # relative to the media root

    @classmethod
    def of(cls, stored: storage.StoredArtifact) -> ArtifactRow:
        return cls(sha256=stored.sha256, size=stored.size, file=stored.file)


@dataclasses.dataclass(frozen=True)
class FileContentRow:
    """What one staged unit becomes: content with one file (at ``relative_path``, of
    ``digest`` and ``size``), and its artifact when the file was downloaded; or content
    without a file (all three None)."""

    unit_id: int
    natural_key: str
    repo_key: str
    relative_path: str | None
    digest: str | None
    size: int | None
    artifact: ArtifactRow | None

    def record(self) -> tuple[Any, ...]:
        artifact = self.artifact
        return (
            self.unit_id,
            self.natural_key,
            self.repo_key,
            self.relative_path,
            self.digest,
            self.size,
            artifact.sha256 if artifact else None,
            artifact.size if artifact else None,
            artifact.file if artifact else None,
        )


async def plan_unit_ranges(
    connection: asyncpg.Connection, content_type: str, batch_size: int
) -> list[UnitRange]:
    """The units of ``content_type`` still to migrate, as id ranges of ``batch_size`` units."""
    if batch_size < 1:
        raise ValueError(f"batch size must be positive, not {batch_size}")
    rows = await connection.fetch(queries["content_plan_unit_ranges"], content_type, batch_size)
    return [UnitRange(row["first_id"], row["last_id"], row["units"]) for row in rows]


async def lock_units(
    connection: asyncpg.Connection, content_type: str, first_id: int, last_id: int
) -> list[StagedUnit]:
    """The units of the range still to migrate, locked until the caller's transaction ends."""
    rows = await connection.fetch(queries["content_lock_units"], content_type, first_id, last_id)
    return [StagedUnit.from_row(row) for row in rows]


async def save_file_content(
    connection: asyncpg.Connection, pulp_type: str, rows: Sequence[FileContentRow]
) -> int:
    """Write ``rows`` as file content (``save_content`` with the file fields as its details)."""

    async def file_fields(connection: asyncpg.Connection) -> None:
        await connection.execute(queries["content_insert_file_content"])

    return await save_content(connection, pulp_type, rows, file_fields)


async def save_content(
    connection: asyncpg.Connection,
    pulp_type: str,
    rows: Sequence[FileContentRow],
    details: Callable[[asyncpg.Connection], Awaitable[None]],
) -> int:
    """Write ``rows`` set-based (artifacts, content, content artifacts) and mark their units
    migrated; returns how many units were marked. ``details`` writes the type's own fields once
    the content rows exist (the stage table ``content_file_stage`` holds the rows, each with its
    ``content_id``).
    Idempotent: upserts on sha256 and natural key. Runs in a transaction of its own (a savepoint
    inside the caller's)."""
    if not rows:
        return 0
    records = [row.record() for row in sorted(rows, key=lambda row: row.natural_key)]
    async with connection.transaction():
        await connection.execute(queries["content_create_file_stage"])
        await connection.execute(queries["content_clear_file_stage"])
        await connection.copy_records_to_table(
            _FILE_STAGE, schema_name="pg_temp", records=records, columns=_FILE_STAGE_COLUMNS
        )
        await connection.execute(queries["content_analyze_file_stage"])
        await connection.execute(queries["content_insert_artifacts"])
        await connection.execute(queries["content_insert_content"], pulp_type)
        await connection.execute(queries["content_resolve_ids"], pulp_type)
        await details(connection)
        await connection.execute(queries["content_upsert_content_artifacts"])
        status: str = await connection.execute(queries["content_mark_migrated"])
    return int(status.rsplit(" ", 1)[-1])
