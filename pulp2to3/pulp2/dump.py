"""Open a Pulp 2 MongoDB dump, whichever form mongodump wrote it in."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any, Protocol

from .archive import ArchiveDump
from .archive_format import DEFAULT_DATABASE
from .errors import DumpError
from .folder import FolderDump, database_folders


class Dump(Protocol):
    """The collections of one database of a dump, streamed one document at a time."""

    path: Path
    database: str

    def collections(self) -> list[str]:
        """The collection names the dump holds for this database."""
        ...

    def iter_collection(self, name: str) -> Iterator[dict[str, Any]]:
        """The documents of collection ``name``, in dump order; none if it is not in the dump."""
        ...

    def iter_documents(self, names: Collection[str]) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(collection, document)`` for the collections ``names``, in one pass where possible."""
        ...


def choose_database(path: Path, available: list[str], requested: str | None) -> str:
    """``requested`` if given, else ``pulp_database``, else the only database there is."""
    if requested is not None:
        if requested not in available:
            raise DumpError(path, f"no database {requested!r} in the dump (it has {available})")
        return requested
    if DEFAULT_DATABASE in available:
        return DEFAULT_DATABASE
    if len(available) == 1:
        return available[0]
    raise DumpError(
        path,
        f"no database {DEFAULT_DATABASE!r} in the dump and not exactly one other "
        f"to use instead (it has {available})",
    )


def open_dump(path: Path, *, database: str | None = None, verify_crc: bool = True) -> Dump:
    """Open the mongodump output at ``path``: an archive file (gzip or not) or an output folder.

    A folder may be the ``--out`` folder or one database folder in it. ``verify_crc`` checks
    each archive collection's CRC-64 against its end-of-collection header.
    """
    if path.is_file():
        prelude = ArchiveDump.read_prelude(path)
        chosen = choose_database(path, prelude.databases, database)
        return ArchiveDump(path, prelude, chosen, verify_crc=verify_crc)
    if path.is_dir():
        try:
            folders = database_folders(path)
        except OSError as exc:
            raise DumpError(path, f"cannot list the folder: {exc.strerror or exc}") from exc
        if not folders:
            raise DumpError(path, "no <database>/<collection>.bson(.gz) files in this folder")
        chosen = choose_database(path, list(folders), database)
        return FolderDump(folders[chosen], chosen)
    raise DumpError(path, "no such file or folder")
