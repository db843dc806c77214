"""Downloaded units' files to artifacts, for every plugin: off the event loop, cancellable.

A content batch hands the files of its downloaded units here; each becomes an artifact
(``storage``: linked or copied under the media root, checked against its size and sha256) or
the reason it cannot be one (a missing or corrupt file, a path outside the Pulp 2 root). Files
whose sha256 Pulp 2 did not record (an RPM with a sha1 checksum) are hashed first.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

from pulp2to3 import storage
from pulp2to3.plugins import CorruptFile
from pulp2to3.pulp2.paths import UnsafePath, real_path, resolve_storage_path
from pulp2to3.settings import Settings
from pulp2to3.store.content import StagedUnit

Decoded = TypeVar("Decoded")
Row = TypeVar("Row")

# Files handled per thread hop: enough to make the hop's cost small, few enough (in number and
# in bytes that may be hashed or copied) that a cancelled batch stops soon.
GROUP_UNITS = 64
GROUP_BYTES = 64 << 20


@dataclasses.dataclass(frozen=True)
class UnitFile:
    """The file of a downloaded unit: where Pulp 2 stored it, and what it must be."""

    storage_path: str
    size: int | None  # None: Pulp 2 recorded no size; the file's is taken
    sha256: str | None  # None: Pulp 2 recorded another checksum; the file is hashed


Imported = storage.StoredArtifact | str  # the artifact, or why the file cannot be one


def _measure(file: UnitFile, settings: Settings, stop: threading.Event) -> tuple[int, str]:
    """The size and sha256 of the file, from the file itself."""
    source = resolve_storage_path(file.storage_path, settings.pulp2_root)
    try:
        fd = os.open(source, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError as exc:
        raise storage.SourceFileError(source, f"file {source} cannot be read: {exc}") from exc
    try:
        return os.fstat(fd).st_size, storage.sha256_of_fd(fd, stop)
    finally:
        os.close(fd)


def _import_one(
    file: UnitFile, settings: Settings, resolved_root: Path, stop: threading.Event
) -> Imported:
    try:
        size, sha256 = file.size, file.sha256
        if size is None or sha256 is None:
            measured_size, measured_sha256 = _measure(file, settings, stop)
            size = measured_size if size is None else size
            sha256 = measured_sha256 if sha256 is None else sha256
        return storage.import_unit_file(
            file.storage_path,
            pulp2_root=settings.pulp2_root,
            media_root=settings.media_root,
            sha256=sha256,
            size=size,
            verify=settings.verify_checksums and file.sha256 is not None,
            stop=stop,
            resolved_root=resolved_root,
        )
    except UnsafePath as exc:
        return f"unsafe _storage_path: {exc.reason}"
    except storage.NoSpace as exc:
        return exc.reason
    except storage.SourceFileError as exc:
        return CorruptFile(exc.reason)


def _import_group(
    group: Sequence[UnitFile], settings: Settings, stop: threading.Event
) -> list[Imported]:
    """Blocking, in a thread."""
    try:
        resolved_root = real_path(settings.pulp2_root)
    except UnsafePath as exc:
        return [f"unsafe _storage_path: {exc.reason}"] * len(group)
    imported: list[Imported] = []
    for file in group:
        if stop.is_set():
            raise storage.Interrupted
        imported.append(_import_one(file, settings, resolved_root, stop))
    return imported


def _groups(files: Sequence[UnitFile]) -> Iterator[Sequence[UnitFile]]:
    start, size = 0, 0
    for index, file in enumerate(files):
        size += file.size or 0
        if index + 1 - start >= GROUP_UNITS or size >= GROUP_BYTES:
            yield files[start : index + 1]
            start, size = index + 1, 0
    if start < len(files):
        yield files[start:]


async def import_files(files: Sequence[UnitFile], settings: Settings) -> list[Imported]:
    """What each of ``files`` became, in order, with the file I/O off the event loop (which
    keeps serving heartbeats and aborts); a cancelled batch stops its thread at the next file
    or MiB, and leaves no partial artifact."""
    imported: list[Imported] = []
    for group in _groups(files):
        stop = threading.Event()
        try:
            imported += await asyncio.to_thread(_import_group, group, settings, stop)
        except asyncio.CancelledError:
            stop.set()
            raise
    return imported


async def units_with_artifacts(
    units: Sequence[StagedUnit],
    settings: Settings,
    decode: Callable[[StagedUnit], Decoded | str],
    expected: Callable[[Decoded], tuple[int | None, str | None]],
    row: Callable[[StagedUnit, Decoded, storage.StoredArtifact | None], Row],
) -> list[Row | str]:
    """What each unit of a one-file content type becomes, in the order of ``units``: its
    ``row`` (with the artifact of its file when it was downloaded), or why it cannot be
    migrated. ``decode`` gives a unit's decoded fields or why they are invalid; ``expected``
    the size and sha256 its file must have (None: taken from the file)."""
    outcomes: dict[int, Row | str] = {}
    downloaded: list[tuple[StagedUnit, Decoded, UnitFile]] = []
    for unit in units:
        decoded = decode(unit)
        if isinstance(decoded, str):
            outcomes[unit.id] = decoded
        elif not unit.downloaded:
            outcomes[unit.id] = row(unit, decoded, None)
        elif unit.storage_path is None:
            outcomes[unit.id] = "downloaded unit has no _storage_path"
        else:
            size, sha256 = expected(decoded)
            downloaded.append((unit, decoded, UnitFile(unit.storage_path, size, sha256)))
    imported = await import_files([file for _, _, file in downloaded], settings)
    for (unit, decoded, _), stored in zip(downloaded, imported, strict=True):
        outcomes[unit.id] = stored if isinstance(stored, str) else row(unit, decoded, stored)
    return [outcomes[unit.id] for unit in units]
