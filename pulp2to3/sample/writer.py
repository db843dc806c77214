"""Write a MongoDB dump exactly as ``mongodump`` does: an ``--archive`` file or an ``--out`` folder.

Both writers take documents collection by collection through :class:`CollectionWriter`s that
may all be open at once. The archive writer spools each collection to a temporary ``.bson``
file and, on close, multiplexes the spools into the archive in interleaved blocks, the way
mongodump's multiplexer does when it dumps several collections concurrently.
"""

from __future__ import annotations

import gzip
import json
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Protocol, Self

import bson
from bson.int64 import Int64

from pulp2to3.pulp2.archive_format import ARCHIVE_MAGIC, ARCHIVE_VERSION, TERMINATOR
from pulp2to3.pulp2.crc64 import crc64

SERVER_VERSION = "3.6.23"
TOOL_VERSION = "100.9.4"
_FLUSH_BYTES = 1 << 20


class Sink(Protocol):
    """A binary output stream: a file or a gzip stream over one."""

    def write(self, data: bytes, /) -> int: ...

    def close(self) -> None: ...


def _gzip_writer(handle: BinaryIO) -> gzip.GzipFile:
    # No file name and mtime 0, as Go's gzip writes it: the output depends on the data alone.
    return gzip.GzipFile(filename="", mode="wb", fileobj=handle, compresslevel=6, mtime=0)


@contextmanager
def _output_file(path: Path, *, compress: bool) -> Iterator[Sink]:
    """``path`` open for writing, through a gzip stream if ``compress``; closed on the way out."""
    with path.open("wb") as raw:
        if compress:
            with _gzip_writer(raw) as unzipped:
                yield unzipped
        else:
            yield raw


def collection_metadata(db: str, collection: str, unique: Sequence[Sequence[str]]) -> str:
    """The ``metadata.json`` text mongodump writes: options and index definitions."""
    indexes: list[dict[str, Any]] = [
        {"v": 2, "key": {"_id": 1}, "name": "_id_", "ns": f"{db}.{collection}"}
    ]
    for fields in unique:
        indexes.append(
            {
                "v": 2,
                "unique": True,
                "key": dict.fromkeys(fields, 1),
                "name": "_".join(f"{field}_1" for field in fields),
                "ns": f"{db}.{collection}",
            }
        )
    return json.dumps({"options": {}, "indexes": indexes}, separators=(",", ":"))


class CollectionWriter:
    """Appends BSON-encoded documents to one collection's stream, in large writes."""

    def __init__(self, name: str, metadata: str, out: Sink) -> None:
        self.name = name
        self.metadata = metadata
        self.count = 0
        self.size = 0
        self._out = out
        self._pending: list[bytes] = []
        self._pending_size = 0

    def write(self, document: Mapping[str, Any]) -> None:
        data = bson.encode(document)
        self._pending.append(data)
        self._pending_size += len(data)
        self.count += 1
        self.size += len(data)
        if self._pending_size >= _FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        self._out.write(b"".join(self._pending))
        self._pending.clear()
        self._pending_size = 0


class DumpWriter(ABC):
    """A dump of one database being written; use as a context manager."""

    def __init__(self, db: str) -> None:
        self.db = db
        self._collections: list[CollectionWriter] = []
        self._handles: list[Sink] = []

    def collection(self, name: str, *, unique: Sequence[Sequence[str]] = ()) -> CollectionWriter:
        """A new collection; ``unique`` lists the fields of its unique indexes."""
        writer = CollectionWriter(
            name, collection_metadata(self.db, name, unique), self._open_collection(name)
        )
        self._collections.append(writer)
        return writer

    @property
    def counts(self) -> dict[str, int]:
        return {writer.name: writer.count for writer in self._collections}

    @abstractmethod
    def _open_collection(self, name: str) -> Sink: ...

    @abstractmethod
    def _finish(self) -> None: ...

    def _close_handles(self) -> None:
        # Gzip streams before the files under them.
        for handle in reversed(self._handles):
            handle.close()
        self._handles.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self._close_handles()
            return
        for writer in self._collections:
            writer.flush()
        self._close_handles()
        self._finish()


class FolderDumpWriter(DumpWriter):
    """``mongodump --out=DIR [--gzip]``: ``DIR/<db>/<collection>.bson[.gz]`` + metadata."""

    def __init__(self, out_dir: Path, db: str, *, compress: bool) -> None:
        super().__init__(db)
        self.db_dir = out_dir / db
        self.db_dir.mkdir(parents=True, exist_ok=True)
        self._suffix = ".gz" if compress else ""

    def _open_collection(self, name: str) -> Sink:
        handle = (self.db_dir / f"{name}.bson{self._suffix}").open("wb")
        self._handles.append(handle)
        if not self._suffix:
            return handle
        unzipped = _gzip_writer(handle)
        self._handles.append(unzipped)
        return unzipped

    def _finish(self) -> None:
        for writer in self._collections:
            metadata_path = self.db_dir / f"{writer.name}.metadata.json{self._suffix}"
            with _output_file(metadata_path, compress=bool(self._suffix)) as out:
                out.write(writer.metadata.encode())


class _SpoolReader:
    """Whole documents from a spool file, in chunks of at most ``limit`` bytes."""

    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self._handle = path.open("rb")
        self.crc = 0

    def close(self) -> None:
        self._handle.close()

    def chunk(self, limit: int) -> bytes:
        """Documents totalling at most ``limit`` bytes (at least one if any is left)."""
        parts: list[bytes] = []
        total = 0
        while True:
            head = self._handle.read(4)
            if not head:
                break
            size = int.from_bytes(head, "little")
            if parts and total + size > limit:
                self._handle.seek(-4, 1)
                break
            parts.append(head + self._handle.read(size - 4))
            total += size
        return b"".join(parts)


class ArchiveDumpWriter(DumpWriter):
    """``mongodump --archive=FILE [--gzip]``, ``concurrency`` collections interleaved at a time.

    ``block_size`` caps the documents per block (mongodump buffers up to 16 MiB per block; a
    smaller value gives many blocks even for a small sample).
    """

    def __init__(
        self,
        path: Path,
        db: str,
        *,
        compress: bool,
        concurrency: int = 4,
        block_size: int = 16 * 1024,
    ) -> None:
        super().__init__(db)
        self.path = path
        self._compress = compress
        self._concurrency = concurrency
        self._block_size = block_size
        path.parent.mkdir(parents=True, exist_ok=True)
        self._spool_dir = Path(tempfile.mkdtemp(prefix=".spool-", dir=path.parent))
        self._spools: dict[str, Path] = {}

    def _open_collection(self, name: str) -> Sink:
        spool = self._spool_dir / f"{len(self._spools)}.bson"
        self._spools[name] = spool
        handle = spool.open("wb")
        self._handles.append(handle)
        return handle

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            super().__exit__(exc_type, exc, traceback)
        finally:
            shutil.rmtree(self._spool_dir, ignore_errors=True)

    def _finish(self) -> None:
        with _output_file(self.path, compress=self._compress) as out:
            self._write_archive(out)

    def _write_archive(self, out: Sink) -> None:
        out.write(ARCHIVE_MAGIC)
        out.write(
            bson.encode(
                {
                    "concurrent_collections": self._concurrency,
                    "version": ARCHIVE_VERSION,
                    "server_version": SERVER_VERSION,
                    "tool_version": TOOL_VERSION,
                }
            )
        )
        for writer in self._collections:
            out.write(
                bson.encode(
                    {
                        "db": self.db,
                        "collection": writer.name,
                        "metadata": writer.metadata,
                        "size": writer.size,
                        "type": "collection",
                    }
                )
            )
        out.write(TERMINATOR)
        self._multiplex(out)

    def _namespace_header(self, name: str, *, eof: bool, crc: int) -> bytes:
        signed = crc - (1 << 64) if crc >= 1 << 63 else crc  # Go writes int64(uint64)
        return bson.encode({"db": self.db, "collection": name, "EOF": eof, "CRC": Int64(signed)})

    def _multiplex(self, out: Sink) -> None:
        # Like mongodump's multiplexer: a header starts a block whenever the namespace changes,
        # a terminator ends it; a finished collection gets an EOF header with its CRC.
        waiting = [writer.name for writer in self._collections]
        active: list[_SpoolReader] = []
        current: str | None = None
        try:
            while waiting or active:
                while waiting and len(active) < self._concurrency:
                    name = waiting.pop(0)
                    active.append(_SpoolReader(name, self._spools[name]))
                for spool in list(active):
                    chunk = spool.chunk(self._block_size)
                    if current is not None and (current != spool.name or not chunk):
                        out.write(TERMINATOR)
                        current = None
                    if chunk:
                        if current is None:
                            out.write(self._namespace_header(spool.name, eof=False, crc=0))
                            current = spool.name
                        out.write(chunk)
                        spool.crc = crc64(chunk, spool.crc)
                    else:
                        out.write(self._namespace_header(spool.name, eof=True, crc=spool.crc))
                        out.write(TERMINATOR)
                        spool.close()
                        active.remove(spool)
        finally:
            for spool in active:
                spool.close()
