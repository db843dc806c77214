"""Read length-prefixed BSON documents (and archive terminators) from a file, gzip or not."""

from __future__ import annotations

import enum
import gzip
import io
import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import bson

from .archive_format import GZIP_MAGIC, MAX_DOCUMENT_SIZE, MIN_DOCUMENT_SIZE, TERMINATOR
from .errors import DumpError


class Readable(Protocol):
    def read1(self, size: int, /) -> bytes: ...

    def seek(self, offset: int, whence: int = 0, /) -> int: ...


class Mark(enum.Enum):
    """What :meth:`BsonStream.read_item` found instead of a document."""

    TERMINATOR = enum.auto()
    END = enum.auto()


class BsonStream:
    """Documents read one at a time from ``raw``; ``offset`` counts the bytes consumed.

    When ``compressed``, ``raw`` yields the decompressed bytes and offsets are in them. The
    bytes are read in chunks of ``CHUNK`` and cut into documents in memory: a dump holds
    millions of small documents, and two reads and several calls each were most of the time a
    reader spent outside the BSON decoder. ``documents`` and ``skip_block`` walk a whole
    block of them in one loop; whatever they cannot judge in the chunk at hand (a document
    across its end, a fault) they leave to ``read_item`` / ``skip_item``, which check it.
    """

    CHUNK = 1 << 20

    def __init__(
        self, raw: Readable, path: Path, *, compressed: bool, size: int | None = None
    ) -> None:
        self._raw = raw
        self.path = path
        self.compressed = compressed
        self._size = size  # of a seekable uncompressed file: what skip_item may seek past
        self._buffer = b""
        self._position = 0  # in _buffer
        self._base = 0  # the stream offset of _buffer[0]

    @property
    def offset(self) -> int:
        return self._base + self._position

    def error(self, reason: str, offset: int | None = None) -> DumpError:
        """A :class:`DumpError` about this stream, at ``offset`` (default: the current one)."""
        where = self.offset if offset is None else offset
        return DumpError(self.path, reason, offset=where, compressed=self.compressed)

    def _fill(self, size: int) -> int:
        """Buffer ``size`` bytes from the current offset if the stream has them; how many are."""
        available = len(self._buffer) - self._position
        if available >= size:
            return size
        chunks = [self._buffer[self._position :]]
        try:
            while available < size:
                # read1: what the file (or the gzip stream) gives in one read. A gzip stream
                # cut short raises only once it has given every byte before the cut.
                chunk = self._raw.read1(max(self.CHUNK, size - available))
                if not chunk:
                    break
                chunks.append(chunk)
                available += len(chunk)
        except (OSError, EOFError, zlib.error) as exc:
            # Gzip faults (bad header, CRC or length mismatch, cut stream) and disk errors.
            raise self.error(f"cannot read: {exc}") from exc
        self._base += self._position
        self._buffer = b"".join(chunks)
        self._position = 0
        return min(size, available)

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes; fewer only at the end of the stream."""
        present = self._fill(size)
        start = self._position
        self._position = start + present
        return self._buffer[start : start + present]

    def read_item(self, *, terminators: bool = True) -> bytes | Mark:
        """The next document's raw bytes, or a terminator, or the clean end of the stream.

        With ``terminators`` false the terminator bytes are reported as a bad length.
        """
        start = self.offset
        head = self._read_head(start, terminators)
        if isinstance(head, Mark):
            return head
        size = int.from_bytes(head, "little", signed=True)
        body = self.read(size - 4)
        self._check_body(start, size, len(body), body[-1:])
        return head + body

    def skip_item(self) -> Mark | None:
        """Pass the next document, checked as :meth:`read_item` checks it; or the terminator,
        or the clean end of the stream, found there. Uncompressed, a document past the buffer
        is not read."""
        start = self.offset
        head = self._read_head(start, terminators=True)
        if isinstance(head, Mark):
            return head
        size = int.from_bytes(head, "little", signed=True)
        buffered = len(self._buffer) - self._position
        if self._size is None or size - 4 <= buffered:  # gzip: only read on is possible
            body = self.read(size - 4)
            self._check_body(start, size, len(body), body[-1:])
            return None
        present = min(size - 4, self._size - self.offset)
        if present > 1:
            self._raw.seek(present - 1 - buffered, io.SEEK_CUR)
            self._base += self._position + present - 1
            self._buffer, self._position = b"", 0
        last = self.read(1) if present else b""
        self._check_body(start, size, present, last)
        return None

    def documents(self, truncated: str) -> Iterator[tuple[int, bytes]]:
        """The documents up to the next terminator, each with its offset, the terminator
        passed; a fault raises, as does the end of the stream (``truncated`` says how)."""
        while True:
            buffer, position = self._buffer, self._position
            while (size := _buffered_size(buffer, position)) > 0:
                self._position = position + size
                yield self._base + position, buffer[position : position + size]
                if self._buffer is not buffer:  # read_item or skip_item refilled it meanwhile
                    break
                position = self._position
            if size == 0:
                self._position = position + 4
                return
            offset = self.offset
            item = self.read_item()
            if item is Mark.TERMINATOR:
                return
            if item is Mark.END:
                raise self.error(truncated)
            yield offset, item

    def skip_block(self) -> Mark:
        """Pass the documents up to the next terminator (``Mark.TERMINATOR``) or the clean end
        of the stream (``Mark.END``), each checked as :meth:`skip_item` checks it."""
        while True:
            buffer, position = self._buffer, self._position
            while (size := _buffered_size(buffer, position)) > 0:
                position += size
            if size == 0:
                self._position = position + 4
                return Mark.TERMINATOR
            self._position = position
            mark = self.skip_item()
            if mark is not None:
                return mark

    def _read_head(self, start: int, terminators: bool) -> bytes | Mark:
        head = self.read(4)
        if not head:
            return Mark.END
        if len(head) < 4:
            raise self.error(f"truncated: {len(head)} byte(s) where a document starts", start)
        if terminators and head == TERMINATOR:
            return Mark.TERMINATOR
        size = int.from_bytes(head, "little", signed=True)
        if not MIN_DOCUMENT_SIZE <= size <= MAX_DOCUMENT_SIZE:
            raise self.error(
                f"invalid BSON document length {size} (expected {MIN_DOCUMENT_SIZE} to "
                f"{MAX_DOCUMENT_SIZE}{' or a terminator' if terminators else ''})",
                start,
            )
        return head

    def _check_body(self, start: int, size: int, present: int, last: bytes) -> None:
        if present < size - 4:
            raise self.error(
                f"truncated: document of {size} bytes ends after {present + 4} bytes", start
            )
        if last != b"\x00":
            raise self.error(f"BSON document of {size} bytes does not end with a 0 byte", start)

    def decode(self, raw: bytes, offset: int) -> dict[str, Any]:
        """``raw`` (read at ``offset``) decoded; a :class:`DumpError` if it is not valid BSON."""
        # The C decoder raises InvalidBSON but also other types (e.g. for out-of-range values).
        try:
            document: dict[str, Any] = bson.decode(raw)
        except Exception as exc:
            raise self.error(f"invalid BSON document: {exc}", offset) from exc
        return document


def _buffered_size(buffer: bytes, position: int) -> int:
    """The size of the whole, well-formed document at ``position`` in ``buffer``; 0 for a
    terminator there; -1 when the buffer cannot tell (too few bytes left, or a fault, which the
    per-document path reports)."""
    head = buffer[position : position + 4]
    if head == TERMINATOR:
        return 0
    size = int.from_bytes(head, "little", signed=True)
    if len(head) < 4 or not MIN_DOCUMENT_SIZE <= size <= MAX_DOCUMENT_SIZE:
        return -1
    if position + size > len(buffer) or buffer[position + size - 1]:
        return -1
    return size


@contextmanager
def open_bson_stream(path: Path, *, compressed: bool | None = None) -> Iterator[BsonStream]:
    """A :class:`BsonStream` over the file ``path``.

    ``compressed=None`` detects gzip by its magic bytes ``1f 8b``.
    """
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise DumpError(path, f"cannot open: {exc.strerror or exc}") from exc
    with handle:
        if compressed is None:
            try:
                compressed = handle.peek(2)[:2] == GZIP_MAGIC
            except OSError as exc:
                raise DumpError(path, f"cannot read: {exc.strerror or exc}") from exc
        if compressed:
            with gzip.GzipFile(fileobj=handle, mode="rb") as unzipped:
                yield BsonStream(unzipped, path, compressed=True)
        else:
            size = os.fstat(handle.fileno()).st_size
            yield BsonStream(handle, path, compressed=False, size=size)
