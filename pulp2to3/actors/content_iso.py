"""The ``migrate_content.iso`` step: staged Pulp 2 ISO units become file content and artifacts.

Planning splits the units still to migrate into id ranges of about ``BATCH_SIZE``; each range is
one batch task. A batch maps every unit (``plugins.iso``), stores the files of downloaded units
as artifacts (``storage``, in a thread), then writes everything set-based (``store.content``).
A unit that cannot be migrated (bad fields, a missing or corrupt file, a path outside the Pulp 2
root) is a per-unit failure: it stays unmigrated and the rest of the batch goes on.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import asyncpg
import structlog

from pulp2to3 import storage
from pulp2to3.actors.steps import Batch, BatchResult, Run, Step, batch_task
from pulp2to3.plugins import iso
from pulp2to3.pulp2.paths import UnsafePath
from pulp2to3.settings import Settings
from pulp2to3.store import content

log = structlog.get_logger(__name__)

STEP_CODE = "migrate_content.iso"
BATCH_SIZE = 1000


async def plan_iso_batches(connection: asyncpg.Connection, run: Run) -> list[Batch]:
    """One batch per ``BATCH_SIZE`` consecutive ISO units still to migrate."""
    removed = await asyncio.to_thread(storage.remove_temporary_files, run.settings.media_root)
    if removed:
        log.warning("temporary_files_removed", step=STEP_CODE, files=removed)
    ranges = await content.plan_unit_ranges(connection, iso.CONTENT_TYPE, BATCH_SIZE)
    return [
        Batch(
            key=f"{r.first_id}-{r.last_id}",
            units=r.units,
            args={"first_id": r.first_id, "last_id": r.last_id, "units": r.units},
        )
        for r in ranges
    ]


# Files handled per thread hop: enough to make the hop's cost small, few enough (in number and
# in bytes that may be hashed or copied) that a cancelled batch stops soon.
GROUP_UNITS = 64
GROUP_BYTES = 64 << 20

Outcome = content.FileContentRow | str  # what a unit becomes, or why it cannot be migrated
Downloaded = tuple[content.StagedUnit, iso.IsoFile]


def _row(
    unit: content.StagedUnit, file: iso.IsoFile, artifact: content.ArtifactRow | None
) -> Outcome:
    return content.FileContentRow(
        unit_id=unit.id,
        natural_key=file.natural_key,
        relative_path=file.relative_path,
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


async def migrate_iso_batch(
    connection: asyncpg.Connection, run: Run, args: Mapping[str, Any]
) -> BatchResult:
    """Migrate the ISO units of ``args``' id range that are not migrated yet (idempotent).

    ``done`` counts the units of the batch that are migrated once it commits: the ones it
    migrated, plus (when ``args`` has the planned ``units``) the ones an earlier attempt of the
    same batch migrated and committed, so that a re-run records the same counters.
    """
    first_id, last_id = int(args["first_id"]), int(args["last_id"])
    rows: list[content.FileContentRow] = []
    failures: list[tuple[str, str]] = []
    async with connection.transaction():
        units = await content.lock_units(connection, iso.CONTENT_TYPE, first_id, last_id)
        outcomes = await _migrate_units(units, run.settings)
        for unit, outcome in zip(units, outcomes, strict=True):
            if isinstance(outcome, str):
                failures.append((unit.pulp2_id, outcome))
            else:
                rows.append(outcome)
        migrated = await content.save_file_content(connection, iso.PULP_TYPE, rows)
    earlier = max(0, int(args.get("units", len(units))) - len(units))
    log.info(
        "iso_batch_migrated",
        step=STEP_CODE,
        first_id=first_id,
        last_id=last_id,
        migrated=migrated,
        failed=len(failures),
        earlier=earlier,
    )
    return BatchResult(done=migrated + earlier, failures=tuple(failures))


STEP = Step(
    code=STEP_CODE,
    description="Migrate ISO content: files become artifacts, units become file content",
    task=batch_task("pulp2to3.migrate_content.iso", STEP_CODE)(migrate_iso_batch),
    plan_batches=plan_iso_batches,
)
