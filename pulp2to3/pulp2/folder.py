"""Read a ``mongodump --out`` folder: ``<db>/<collection>.bson`` or ``.bson.gz`` per collection."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from .bson_stream import Mark, open_bson_stream
from .errors import DumpError

_SUFFIXES = (".bson", ".bson.gz")


def collection_files(db_dir: Path) -> dict[str, Path]:
    """The collection files of one database folder, by collection name."""
    files: dict[str, Path] = {}
    try:
        entries = sorted(db_dir.iterdir())
    except OSError as exc:
        raise DumpError(db_dir, f"cannot list the folder: {exc.strerror or exc}") from exc
    for entry in entries:
        for suffix in _SUFFIXES:
            if entry.name.endswith(suffix) and entry.is_file():
                name = entry.name[: -len(suffix)]
                if name in files:
                    raise DumpError(db_dir, f"collection {name!r} is there both plain and gzipped")
                files[name] = entry
    return files


def database_folders(path: Path) -> dict[str, Path]:
    """The database folders of a mongodump output folder (or ``path`` itself if it is one)."""
    if collection_files(path):
        return {path.name: path}
    return {
        entry.name: entry
        for entry in sorted(path.iterdir())
        if entry.is_dir() and collection_files(entry)
    }


class FolderDump:
    """One database folder of a mongodump output; each collection is its own file."""

    def __init__(self, db_dir: Path, database: str) -> None:
        self.path = db_dir
        self.database = database
        self._files = collection_files(db_dir)

    def collections(self) -> list[str]:
        return list(self._files)

    def iter_collection(self, name: str) -> Iterator[dict[str, Any]]:
        path = self._files.get(name)
        if path is None:
            return
        with open_bson_stream(path, compressed=path.name.endswith(".gz")) as stream:
            while True:
                offset = stream.offset
                item = stream.read_item(terminators=False)
                if item is Mark.END:
                    return
                assert isinstance(item, bytes)
                yield stream.decode(item, offset)

    def iter_documents(self, names: Collection[str]) -> Iterator[tuple[str, dict[str, Any]]]:
        for name in sorted(names):
            for document in self.iter_collection(name):
                yield name, document
