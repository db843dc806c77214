"""Read a ``mongodump --archive`` file: prelude, then interleaved per-collection blocks."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .archive_format import ARCHIVE_MAGIC
from .bson_stream import BsonStream, Mark, open_bson_stream
from .crc64 import crc64

Namespace = tuple[str, str]
"""``(database, collection)``."""

_CRC_RUN = 1024


@dataclass(frozen=True)
class Prelude:
    """What an archive announces before its data: every namespace it holds, in order."""

    namespaces: tuple[Namespace, ...]

    @property
    def databases(self) -> list[str]:
        """The databases, in order, without the "" of top-level collections such as the oplog."""
        return list(dict.fromkeys(db for db, _ in self.namespaces if db))


@dataclass(frozen=True)
class _BlockHeader:
    namespace: Namespace
    eof: bool
    crc: int


def _brief(doc: dict[str, Any]) -> str:
    text = repr(doc)
    return text if len(text) <= 200 else text[:200] + "..."


def _namespace(stream: BsonStream, doc: dict[str, Any], offset: int) -> Namespace:
    # The database is "" for the oplog of a full dump; a collection always has a name.
    db = doc.get("db", "")
    collection = doc.get("collection")
    if not isinstance(db, str) or not isinstance(collection, str) or not collection:
        raise stream.error(f"no valid 'db' and 'collection' names in {_brief(doc)}", offset)
    return str(db), str(collection)  # plain str: bson's Code is an unhashable str subclass


def _read_prelude(stream: BsonStream) -> Prelude:
    magic = stream.read(4)
    if magic != ARCHIVE_MAGIC:
        raise stream.error(
            f"not a mongodump archive: starts with {magic.hex()!r}, "
            f"expected magic number {ARCHIVE_MAGIC.hex()!r}",
            0,
        )
    offset = stream.offset
    item = stream.read_item()
    if not isinstance(item, bytes):
        raise stream.error("the archive header document is missing", offset)
    stream.decode(item, offset)  # only checked: nothing in it matters to a reader
    namespaces: list[Namespace] = []
    while True:
        offset = stream.offset
        item = stream.read_item()
        if item is Mark.TERMINATOR:
            return Prelude(tuple(namespaces))
        if item is Mark.END:
            raise stream.error("truncated: the archive ends inside its prelude", offset)
        assert isinstance(item, bytes)
        doc = stream.decode(item, offset)
        namespaces.append(_namespace(stream, doc, offset))


def _parse_block_header(stream: BsonStream, raw: bytes, offset: int) -> _BlockHeader:
    doc = stream.decode(raw, offset)
    # Go's decoder, which mongorestore uses, takes absent fields as false / 0.
    eof = doc.get("EOF", False)
    crc = doc.get("CRC", 0)
    if not isinstance(eof, bool) or not isinstance(crc, int) or isinstance(crc, bool):
        raise stream.error(f"malformed collection header {_brief(doc)}", offset)
    return _BlockHeader(_namespace(stream, doc, offset), eof, crc)


class ArchiveDump:
    """One database of a mongodump archive; every iteration is one pass over the file.

    Documents come in archive order, as they are read; a fault found later in the file (a
    truncation, a CRC mismatch) raises when the iteration reaches it.
    """

    def __init__(self, path: Path, prelude: Prelude, database: str, *, verify_crc: bool) -> None:
        self.path = path
        self.database = database
        self._prelude = prelude
        self._verify_crc = verify_crc

    @staticmethod
    def read_prelude(path: Path) -> Prelude:
        with open_bson_stream(path) as stream:
            return _read_prelude(stream)

    def collections(self) -> list[str]:
        return [c for db, c in self._prelude.namespaces if db == self.database]

    def iter_collection(self, name: str) -> Iterator[dict[str, Any]]:
        for _, document in self.iter_documents({name}):
            yield document

    def iter_documents(self, names: Collection[str]) -> Iterator[tuple[str, dict[str, Any]]]:
        wanted = {(self.database, name) for name in names}
        with open_bson_stream(self.path) as stream:
            _read_prelude(stream)
            yield from self._demultiplex(stream, wanted)

    def _demultiplex(
        self, stream: BsonStream, wanted: set[Namespace]
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        announced = set(self._prelude.namespaces)
        # Stop as soon as every wanted collection is finished, unless one is not announced,
        # or all are finished: then read on to the end, which checks a gzip stream's trailer.
        pending = set(wanted) if wanted <= announced else None
        finished: set[Namespace] = set()
        started: set[Namespace] = set()
        crcs: dict[Namespace, int] = {}
        while pending is None or pending or announced <= finished:
            offset = stream.offset
            item = stream.read_item()
            if item is Mark.END:
                unfinished = sorted(".".join(ns) for ns in (announced | started) - finished)
                if unfinished:
                    raise stream.error(
                        "truncated: the archive ends before the end of " + ", ".join(unfinished)
                    )
                return
            if item is Mark.TERMINATOR:
                raise stream.error("a terminator where a collection header should be", offset)
            header = _parse_block_header(stream, item, offset)
            namespace = header.namespace
            label = ".".join(namespace)
            if namespace not in announced:
                raise stream.error(
                    f"a block of {label}, which the prelude does not announce", offset
                )
            if namespace in finished:
                raise stream.error(f"a block of {label} after its end-of-collection header", offset)
            started.add(namespace)
            if header.eof:
                finished.add(namespace)
                if namespace in wanted:
                    self._check_crc(stream, label, header.crc, crcs.get(namespace, 0), offset)
                    if pending is not None:
                        pending.discard(namespace)
                after = stream.offset
                if stream.read_item() is not Mark.TERMINATOR:
                    raise stream.error(
                        f"the end-of-collection header of {label} is not followed by a terminator",
                        after,
                    )
                continue
            truncated = f"truncated: the archive ends inside a block of {label}"
            if namespace in wanted:
                yield from self._read_block(stream, namespace, crcs, truncated)
            elif stream.skip_block() is Mark.END:
                raise stream.error(truncated)

    def _read_block(
        self, stream: BsonStream, namespace: Namespace, crcs: dict[Namespace, int], truncated: str
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        collection = namespace[1]
        # The CRC runs over the documents' bytes in order: some at a time, one call for them.
        unsummed: list[bytes] = []
        try:
            for offset, item in stream.documents(truncated):
                if self._verify_crc:
                    unsummed.append(item)
                    if len(unsummed) == _CRC_RUN:
                        crcs[namespace] = crc64(b"".join(unsummed), crcs.get(namespace, 0))
                        unsummed.clear()
                yield collection, stream.decode(item, offset)
        finally:
            crcs[namespace] = crc64(b"".join(unsummed), crcs.get(namespace, 0))

    def _check_crc(
        self, stream: BsonStream, label: str, expected: int, actual: int, offset: int
    ) -> None:
        # mongodump writes Go's int64(uint64 CRC): compare as unsigned.
        expected &= 0xFFFF_FFFF_FFFF_FFFF
        if self._verify_crc and expected != actual:
            raise stream.error(
                f"CRC mismatch for {label}: the documents read give {actual:#018x}, "
                f"the end-of-collection header says {expected:#018x}",
                offset,
            )
