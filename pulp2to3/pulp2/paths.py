"""Map a unit's ``_storage_path`` into the configured copy of ``/var/lib/pulp``, safely.

Strings, not ``pathlib``, inside: these run for every file of a migration, and parsing each
path into a ``Path`` several times was most of a content batch's Python (a ``Path`` is made
once, of the result).
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path, PurePosixPath

PULP2_ROOT = PurePosixPath("/var/lib/pulp")
_O_PATH: int | None = getattr(os, "O_PATH", None)  # Linux's


class UnsafePath(ValueError):
    """A storage path that is malformed or leads outside the configured root folder."""

    def __init__(self, path: object, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"unsafe storage path {path!r}: {reason}")


def _mapped(storage_path: object, root: str, source_root: PurePosixPath) -> str:
    if not isinstance(storage_path, str):
        raise UnsafePath(storage_path, "not a string")
    if "\0" in storage_path:
        raise UnsafePath(storage_path, "contains a NUL byte")
    if not storage_path.startswith("/"):
        raise UnsafePath(storage_path, "not an absolute path")
    if source_root.root != "/":
        raise ValueError(f"the source root {source_root} is not an absolute path under /")
    # Components as PurePosixPath has them: empty and '.' ones dropped.
    parts = [part for part in storage_path.split("/") if part and part != "."]
    if ".." in parts:
        raise UnsafePath(storage_path, "has a '..' component")
    prefix = source_root.parts[1:]
    # Exactly two leading slashes are a root of their own (POSIX), under no source root.
    two_slashes = storage_path.startswith("//") and not storage_path.startswith("///")
    if two_slashes or tuple(parts[: len(prefix)]) != prefix:
        raise UnsafePath(storage_path, f"not under {source_root}")
    if len(parts) == len(prefix):
        raise UnsafePath(storage_path, f"is {source_root} itself, not a file in it")
    return os.path.join(root, *parts[len(prefix) :])


def map_storage_path(
    storage_path: object, root: Path, *, source_root: PurePosixPath = PULP2_ROOT
) -> Path:
    """Where ``storage_path`` (under ``source_root``) is under ``root``; no filesystem access.

    Rejects anything but an absolute path strictly under ``source_root`` without ``..``.
    """
    return Path(_mapped(storage_path, os.fspath(root), source_root))


def _real(path: str) -> str:
    """``path`` with symbolic links resolved, as ``Path.resolve`` does it (a loop refused)."""
    # The kernel's answer first: three system calls, where realpath makes one per component.
    # Where it has none (a missing file, a loop, no O_PATH or /proc, a file unlinked meanwhile)
    # realpath answers, as it always did.
    if _O_PATH is not None:
        with contextlib.suppress(OSError):
            fd = os.open(path, _O_PATH | os.O_CLOEXEC)
            try:
                real = os.readlink(f"/proc/self/fd/{fd}")
            finally:
                os.close(fd)
            if real.startswith("/") and not real.endswith(" (deleted)"):
                return real
    real = os.path.realpath(path)
    try:
        os.stat(real)  # realpath leaves a loop unresolved, silently; stat meets it
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafePath(path, f"cannot be resolved: Symlink loop from {real!r}") from exc
    return real


def real_path(path: Path) -> Path:
    """``path`` with symbolic links resolved (a root: what ``confine_to_root`` checks against)."""
    try:
        return Path(_real(os.fspath(path)))
    except OSError as exc:
        raise UnsafePath(str(path), f"cannot be resolved: {exc}") from exc


def _confine(path: str, root: Path, resolved_root: Path | None) -> Path:
    real_top = os.fspath(real_path(root) if resolved_root is None else resolved_root)
    real = _real(path)
    if real == real_top or not real.startswith(real_top.rstrip("/") + "/"):
        raise UnsafePath(
            path, f"resolves to {real}, outside {real_top} (a symbolic link leads out)"
        )
    return Path(real)


def confine_to_root(path: Path, root: Path, *, resolved_root: Path | None = None) -> Path:
    """``path`` with symbolic links resolved, if it stays inside ``root`` (resolved too, unless
    the caller, checking many paths, passes ``real_path(root)`` as ``resolved_root``)."""
    return _confine(os.fspath(path), root, resolved_root)


def resolve_storage_path(
    storage_path: object,
    root: Path,
    *,
    source_root: PurePosixPath = PULP2_ROOT,
    resolved_root: Path | None = None,
) -> Path:
    """The real file ``storage_path`` names under ``root``, checked to stay inside ``root``
    (``resolved_root``: see ``confine_to_root``)."""
    return _confine(_mapped(storage_path, os.fspath(root), source_root), root, resolved_root)
