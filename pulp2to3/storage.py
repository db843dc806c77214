"""Artifact storage on disk: files content-addressed by sha256 under the media root.

An artifact is ``<media_root>/artifact/<sha256[:2]>/<sha256[2:]>``, one file per sha256 however
many units use it. It is made by hard link to the Pulp 2 file when both share a filesystem (no
data is copied, the source is untouched), by copy otherwise: to a temporary file in the same
folder, then ``os.replace``, so that a crash never leaves a partial artifact under its final name.
A file generated here (a publication's PULP_MANIFEST) is written the same way by
``ArtifactWriter``, hashed as it is written, and moved to the name of its sha256.

Everything here is blocking file I/O: callers run it in a thread (``asyncio.to_thread``).
Problems of one source file (missing, wrong size or checksum, outside the Pulp 2 root) raise
``SourceFileError`` or ``UnsafePath``, which the caller turns into a per-unit failure. So does a
media root without space for the file (``NoSpace``, a ``SourceFileError`` too): the next, smaller
or hard-linked file may still fit. Other problems of the media root (no permission, read-only)
raise ``OSError`` and fail the batch. No temporary file outlives a failure; one left by a crash is
removed by ``remove_temporary_files`` before the next migration stores files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import errno
import hashlib
import os
import shutil
import stat
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from pulp2to3.pulp2.paths import resolve_storage_path

ARTIFACT_FOLDER = "artifact"
_TEMPORARY_PREFIX = ".tmp-"
_TEMPORARY_SUFFIX = ".part"
_TEMPORARY_FOLDER = ".parts"
_CHUNK = 1 << 20

# A hard link that fails with one of these is replaced by a copy: another filesystem, a
# filesystem without hard links, a file we may not link (fs.protected_hardlinks), too many links.
_COPY_INSTEAD = frozenset({errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP})

LinkFunction = Callable[[Path, Path], None]


class SourceFileError(Exception):
    """A unit's file that cannot become an artifact; ``reason`` names the unit's failure."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class MissingFile(SourceFileError):
    pass


class WrongSize(SourceFileError):
    pass


class WrongChecksum(SourceFileError):
    pass


class NoSpace(SourceFileError):
    """The media root's filesystem is full (or the quota used up) for this file."""


# A full filesystem, or a full quota: the error names which.
_NO_SPACE = {errno.ENOSPC: "ENOSPC", errno.EDQUOT: "EDQUOT"}


class Interrupted(Exception):
    """The caller stopped waiting (its task was cancelled): the file at hand is given up."""


class Stored(enum.Enum):
    LINKED = "linked"
    COPIED = "copied"
    EXISTING = "existing"
    WRITTEN = "written"


@dataclasses.dataclass(frozen=True)
class StoredArtifact:
    sha256: str
    size: int
    file: str  # relative to the media root, with "/" separators
    how: Stored


def artifact_relative_path(sha256: str) -> str:
    """Where the artifact of ``sha256`` lives, relative to the media root."""
    if len(sha256) != 64 or sha256.strip("0123456789abcdef"):
        raise ValueError(f"not a lower-case sha256 hex digest: {sha256!r}")
    return f"{ARTIFACT_FOLDER}/{sha256[:2]}/{sha256[2:]}"


def _check_stop(stop: threading.Event | None) -> None:
    if stop is not None and stop.is_set():
        raise Interrupted


def sha256_of_fd(fd: int, stop: threading.Event | None = None) -> str:
    digest = hashlib.sha256()
    while chunk := os.read(fd, _CHUNK):
        _check_stop(stop)
        digest.update(chunk)
    return digest.hexdigest()


def check_source(
    path: Path, *, size: int, sha256: str, verify: bool, stop: threading.Event | None = None
) -> None:
    """Raise ``SourceFileError`` unless ``path`` is a regular file of ``size`` bytes (and, with
    ``verify``, of that ``sha256``). The last component is not followed if it is a link.
    ``stop`` set by another thread interrupts the hashing (``Interrupted``)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except FileNotFoundError as exc:
        raise MissingFile(path, f"file {path} is missing") from exc
    except OSError as exc:
        raise SourceFileError(path, f"file {path} cannot be read: {exc.strerror}") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SourceFileError(path, f"{path} is not a regular file")
        if info.st_size != size:
            raise WrongSize(path, f"file {path} has {info.st_size} bytes, expected {size}")
        if verify:
            try:
                actual = sha256_of_fd(fd, stop)
            except OSError as exc:
                raise SourceFileError(path, f"file {path} cannot be read: {exc.strerror}") from exc
            if actual != sha256:
                raise WrongChecksum(path, f"file {path} has sha256 {actual}, expected {sha256}")
    finally:
        os.close(fd)


class _TemporaryFile:
    """A file written under a temporary name in ``folder``, then flushed to disk and renamed to
    its final name (``move_to``), so that a crash never leaves a partial file under that name;
    ``discard`` removes it if it is still there (an error, a cancel). Blocking."""

    def __init__(self, folder: Path, prefix: str = _TEMPORARY_PREFIX) -> None:
        fd, name = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=_TEMPORARY_SUFFIX)
        self._path = Path(name)
        self._out = os.fdopen(fd, "wb")
        self._moved = False
        try:
            os.fchmod(fd, 0o644)
        except BaseException:
            self.discard()
            raise

    def write(self, data: bytes) -> None:
        self._out.write(data)

    def finish(self) -> None:
        """Flush the file to disk and close it (once)."""
        if not self._out.closed:
            self._out.flush()
            os.fsync(self._out.fileno())
            self._out.close()

    def move_to(self, target: Path) -> None:
        self.finish()
        os.replace(self._path, target)
        self._moved = True

    def discard(self) -> None:
        try:
            # Closing flushes what is buffered: on a full disk that fails again (the error that
            # brought us here is already raised), and the file must go all the same.
            with contextlib.suppress(OSError):
                self._out.close()
        finally:
            if not self._moved:
                self._path.unlink(missing_ok=True)


def temporary_folder(media_root: Path) -> Path:
    """A new folder of the caller's beside the artifacts (their filesystem: its files can be
    linked as artifacts); remove it when done. One a crash left goes with the temporary files."""
    folder = media_root / ARTIFACT_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=folder, prefix=_TEMPORARY_PREFIX, suffix=_TEMPORARY_FOLDER))


def remove_temporary_files(media_root: Path) -> int:
    """Remove the temporary files and folders under the artifact folder (left by a killed
    process); how many. Only while nothing stores files there (premigrate, before any content
    step)."""
    folder = media_root / ARTIFACT_FOLDER
    pattern = f"{_TEMPORARY_PREFIX}*{_TEMPORARY_SUFFIX}"
    leftovers = [*folder.glob(pattern), *folder.glob(f"*/{pattern}")]
    for path in leftovers:
        path.unlink(missing_ok=True)
    folders = list(folder.glob(f"{_TEMPORARY_PREFIX}*{_TEMPORARY_FOLDER}"))
    for path in folders:
        shutil.rmtree(path, ignore_errors=True)
    return len(leftovers) + len(folders)


def _copy(source: Path, target: Path, stop: threading.Event | None) -> None:
    """Copy to a temporary file beside ``target``, flush it to disk, rename it into place."""
    temporary = _TemporaryFile(target.parent)
    try:
        with open(source, "rb") as src:
            while chunk := src.read(_CHUNK):
                _check_stop(stop)
                temporary.write(chunk)
        temporary.move_to(target)
    finally:
        temporary.discard()


def _existing(target: Path, sha256: str, size: int, file: str) -> StoredArtifact:
    actual = target.stat().st_size
    if actual != size:
        raise WrongSize(
            target,
            f"the artifact of sha256 {sha256} is already stored with {actual} bytes, not {size}",
        )
    return StoredArtifact(sha256=sha256, size=size, file=file, how=Stored.EXISTING)


def store_artifact(
    source: Path,
    media_root: Path,
    *,
    sha256: str,
    size: int,
    link: LinkFunction | None = None,
    stop: threading.Event | None = None,
) -> StoredArtifact:
    """Make ``source`` the artifact of ``sha256`` (already checked), or reuse the one there.

    ``link`` defaults to ``os.link``; a failure it reports as another filesystem or not
    permitted falls back to a copy (tests pass a failing one to take that path).
    """
    file = artifact_relative_path(sha256)
    target = media_root / file
    try:
        return _store(source, target, sha256, size, file, link, stop)
    except OSError as exc:
        if exc.errno not in _NO_SPACE:
            raise
        raise NoSpace(
            source,
            f"no space left on the media root for the artifact of {source} ({size} bytes):"
            f" {exc.strerror} ({_NO_SPACE[exc.errno]})",
        ) from exc


def _store(
    source: Path,
    target: Path,
    sha256: str,
    size: int,
    file: str,
    link: LinkFunction | None,
    stop: threading.Event | None,
) -> StoredArtifact:
    # The link is tried first: for most files it is the only system call (a folder is made
    # once, when a link finds it missing; an artifact stored already makes the link fail).
    try:
        try:
            (link or os.link)(source, target)
        except FileNotFoundError:
            # The folder is missing, or the source is: made (here, or by another batch that
            # met it missing too, meanwhile), a second link's error can only be the source's.
            target.parent.mkdir(parents=True, exist_ok=True)
            (link or os.link)(source, target)
    except FileExistsError:  # stored already, by another unit or batch
        return _existing(target, sha256, size, file)
    except OSError as exc:
        if exc.errno not in _COPY_INSTEAD:
            raise
        if target.exists():
            return _existing(target, sha256, size, file)
        target.parent.mkdir(parents=True, exist_ok=True)
        _copy(source, target, stop)
        return StoredArtifact(sha256=sha256, size=size, file=file, how=Stored.COPIED)
    return StoredArtifact(sha256=sha256, size=size, file=file, how=Stored.LINKED)


def import_unit_file(
    storage_path: object,
    *,
    pulp2_root: Path,
    media_root: Path,
    sha256: str,
    size: int,
    verify: bool,
    link: LinkFunction | None = None,
    stop: threading.Event | None = None,
    resolved_root: Path | None = None,
) -> StoredArtifact:
    """The artifact of a downloaded unit whose file Pulp 2 recorded at ``storage_path``.

    Raises ``UnsafePath`` (the path leads outside ``pulp2_root``) or ``SourceFileError``, and
    ``Interrupted`` when ``stop`` is set while a file is hashed or copied. ``resolved_root``:
    ``pulp2_root`` already resolved (``paths.confine_to_root``).
    """
    source = resolve_storage_path(storage_path, pulp2_root, resolved_root=resolved_root)
    check_source(source, size=size, sha256=sha256, verify=verify, stop=stop)
    return store_artifact(source, media_root, sha256=sha256, size=size, link=link, stop=stop)


class ArtifactWriter:
    """A file generated here (a PULP_MANIFEST) stored as the artifact of its own sha256.

    The bytes go to a temporary file beside the artifacts, hashed as they are written (memory
    stays bounded however big the file); ``commit`` moves it to the artifact's name, or drops it
    when a file of that sha256 and size is there already. ``discard`` (always call it, after
    ``commit`` too) removes the temporary file if it is still there. Blocking: every method runs
    in a thread.
    """

    def __init__(self, media_root: Path) -> None:
        self._media_root = media_root
        folder = media_root / ARTIFACT_FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        self._file = _TemporaryFile(folder, prefix=".tmp-metadata-")
        self._hash = hashlib.sha256()
        self._size = 0

    def write(self, data: bytes) -> None:
        self._file.write(data)
        self._hash.update(data)
        self._size += len(data)

    def commit(self) -> StoredArtifact:
        """Move the file to its artifact's name; what is stored there."""
        self._file.finish()
        sha256 = self._hash.hexdigest()
        file = artifact_relative_path(sha256)
        target = self._media_root / file
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_file() and target.stat().st_size == self._size:
            self._file.discard()  # the same bytes are there already
            how = Stored.EXISTING
        else:
            self._file.move_to(target)
            how = Stored.WRITTEN
        return StoredArtifact(sha256=sha256, size=self._size, file=file, how=how)

    def discard(self) -> None:
        self._file.discard()
