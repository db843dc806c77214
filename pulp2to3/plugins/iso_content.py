"""The ISO content type: staged Pulp 2 ISO units become file content and artifacts.

A batch maps every unit (``plugins.iso``), stores the files of downloaded units as artifacts
(``storage``, in a thread), then writes everything set-based (``store.content``). A unit that
cannot be migrated (bad fields, a missing or corrupt file, a path outside the Pulp 2 root) is a
per-unit failure: it stays unmigrated and the rest of the batch goes on.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence

import asyncpg

from pulp2to3 import storage
from pulp2to3.plugins import ContentType, MigratedUnits, iso
from pulp2to3.pulp2.paths import UnsafePath
from pulp2to3.settings import Settings
from pulp2to3.store import content

# Files handled per thread hop: enough to make the hop's cost small, few enough (in number and
# in bytes that may be hashed or copied) that a cancelled batch stops soon.
GROUP_UNITS = 64
GROUP_BYTES = 64 << 20

Outcome = content.FileContentRow | str  # what a unit becomes, or why it cannot be migrated
Downloaded = tuple[content.StagedUnit, iso.IsoFile]


def _row(
    unit: content.StagedUnit, file: iso.IsoFile, artifact: content.ArtifactRow | None
) -> Outcome:
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


def _import_files(
    group: Sequence[Downloaded], settings: Settings, stop: threading.Event
) -> list[Outcome]:
    """Blocking, in a thread: the artifacts of downloaded units, or why each failed."""
    outcomes: list[Outcome] = []
    for unit, file in group:
        if stop.is_set():
            raise storage.Interrupted
        try:
            stored = storage.import_unit_file(
                unit.storage_path,
                pulp2_root=settings.pulp2_root,
                media_root=settings.media_root,
                sha256=file.checksum,
                size=file.size,
                verify=settings.verify_checksums,
                stop=stop,
            )
        except UnsafePath as exc:
            outcomes.append(f"unsafe _storage_path: {exc.reason}")
        except storage.SourceFileError as exc:
            outcomes.append(exc.reason)
        else:
            artifact = content.ArtifactRow(sha256=stored.sha256, size=stored.size, file=stored.file)
            outcomes.append(_row(unit, file, artifact))
    return outcomes


def _groups(downloaded: Sequence[Downloaded]) -> Iterator[Sequence[Downloaded]]:
    start, size = 0, 0
    for index, (_, file) in enumerate(downloaded):
        size += file.size
        if index + 1 - start >= GROUP_UNITS or size >= GROUP_BYTES:
            yield downloaded[start : index + 1]
            start, size = index + 1, 0
    if start < len(downloaded):
        yield downloaded[start:]


async def _import_all(downloaded: Sequence[Downloaded], settings: Settings) -> list[Outcome]:
    """The outcomes of ``downloaded``, in order, with the file I/O off the event loop (which
    keeps serving heartbeats and aborts); a cancelled batch stops its thread at the next file
    or MiB, and leaves no partial artifact."""
    outcomes: list[Outcome] = []
    for group in _groups(downloaded):
        stop = threading.Event()
        try:
            outcomes += await asyncio.to_thread(_import_files, group, settings, stop)
        except asyncio.CancelledError:
            stop.set()
            raise
    return outcomes


async def _migrate_units(units: Sequence[content.StagedUnit], settings: Settings) -> list[Outcome]:
    """What each unit becomes, or why it cannot be migrated, in the order of ``units``."""
    outcomes: dict[int, Outcome] = {}
    downloaded: list[Downloaded] = []
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
            downloaded.append((unit, file))
    imported = await _import_all(downloaded, settings)
    outcomes.update(zip((unit.id for unit, _ in downloaded), imported, strict=True))
    return [outcomes[unit.id] for unit in units]


async def migrate_iso_units(
    connection: asyncpg.Connection, units: Sequence[content.StagedUnit], settings: Settings
) -> MigratedUnits:
    """Migrate ``units`` (locked by the batch); idempotent, as it upserts on natural keys."""
    rows: list[content.FileContentRow] = []
    failures: list[tuple[str, str]] = []
    outcomes = await _migrate_units(units, settings)
    for unit, outcome in zip(units, outcomes, strict=True):
        if isinstance(outcome, str):
            failures.append((unit.pulp2_id, outcome))
        else:
            rows.append(outcome)
    migrated = await content.save_file_content(connection, CONTENT_TYPE.pulp_type, rows)
    return MigratedUnits(migrated=migrated, failures=tuple(failures))


CONTENT_TYPE = ContentType(
    pulp2_type="iso",
    pulp_type="file.file",
    natural_key=("relative_path", "digest", "size"),
    repository_key=("relative_path",),
    description="Migrate ISO content: files become artifacts, units become file content",
    migrate=migrate_iso_units,
)
