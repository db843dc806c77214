"""Map a unit's ``_storage_path`` into the configured copy of ``/var/lib/pulp``, safely."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

PULP2_ROOT = PurePosixPath("/var/lib/pulp")


class UnsafePath(ValueError):
    """A storage path that is malformed or leads outside the configured root folder."""

    def __init__(self, path: object, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"unsafe storage path {path!r}: {reason}")


def map_storage_path(
    storage_path: object, root: Path, *, source_root: PurePosixPath = PULP2_ROOT
) -> Path:
    """Where ``storage_path`` (under ``source_root``) is under ``root``; no filesystem access.

    Rejects anything but an absolute path strictly under ``source_root`` without ``..``.
    """
    if not isinstance(storage_path, str):
        raise UnsafePath(storage_path, "not a string")
    if "\0" in storage_path:
        raise UnsafePath(storage_path, "contains a NUL byte")
    pure = PurePosixPath(storage_path)
    if not pure.is_absolute():
        raise UnsafePath(storage_path, "not an absolute path")
    if ".." in pure.parts:
        raise UnsafePath(storage_path, "has a '..' component")
    if not pure.is_relative_to(source_root):
        raise UnsafePath(storage_path, f"not under {source_root}")
    relative = pure.relative_to(source_root)
    if not relative.parts:
        raise UnsafePath(storage_path, f"is {source_root} itself, not a file in it")
    return root.joinpath(*relative.parts)


def real_path(path: Path) -> Path:
    """``path`` with symbolic links resolved (a root: what ``confine_to_root`` checks against)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symbolic link loop
        raise UnsafePath(str(path), f"cannot be resolved: {exc}") from exc


def confine_to_root(path: Path, root: Path, *, resolved_root: Path | None = None) -> Path:
    """``path`` with symbolic links resolved, if it stays inside ``root`` (resolved too, unless
    the caller, checking many paths, passes ``real_path(root)`` as ``resolved_root``)."""
    real_top = real_path(root) if resolved_root is None else resolved_root
    real = real_path(path)
    if real == real_top or not real.is_relative_to(real_top):
        raise UnsafePath(
            str(path), f"resolves to {real}, outside {real_top} (a symbolic link leads out)"
        )
    return real


def resolve_storage_path(
    storage_path: object,
    root: Path,
    *,
    source_root: PurePosixPath = PULP2_ROOT,
    resolved_root: Path | None = None,
) -> Path:
    """The real file ``storage_path`` names under ``root``, checked to stay inside ``root``
    (``resolved_root``: see ``confine_to_root``)."""
    mapped = map_storage_path(storage_path, root, source_root=source_root)
    return confine_to_root(mapped, root, resolved_root=resolved_root)
