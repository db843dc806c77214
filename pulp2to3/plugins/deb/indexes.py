"""One ``Packages`` index and its ``Packages.gz``, written as they are streamed: both go to
temporary files beside the artifacts (``storage.ArtifactWriter``), each hashed with SHA256 and
SHA512 on the way, so memory stays bounded however many packages the index lists. Blocking:
every method runs in a thread.
"""

from __future__ import annotations

import dataclasses
import hashlib
import zlib
from pathlib import Path

from pulp2to3 import storage

# zlib's gzip format (wbits 16 + 15) writes mtime 0 and no name: the bytes depend on the data.
_GZIP_WBITS = 31


@dataclasses.dataclass(frozen=True)
class IndexFile:
    """A written index file: its artifact, and its SHA512 (the Release lists both hashes)."""

    artifact: storage.StoredArtifact
    sha512: str


class _Hashed:
    def __init__(self, media_root: Path) -> None:
        self.writer = storage.ArtifactWriter(media_root)
        self.sha512 = hashlib.sha512()

    def write(self, data: bytes) -> None:
        self.writer.write(data)
        self.sha512.update(data)

    def commit(self) -> IndexFile:
        return IndexFile(self.writer.commit(), self.sha512.hexdigest())


class IndexWriter:
    """``Packages`` and ``Packages.gz`` of one component and architecture. ``discard`` (always
    call it, after ``commit`` too) removes what is left of the temporary files."""

    def __init__(self, media_root: Path) -> None:
        self._plain = _Hashed(media_root)
        self._packed = _Hashed(media_root)
        self._compressor = zlib.compressobj(6, zlib.DEFLATED, _GZIP_WBITS)

    def write(self, data: bytes) -> None:
        self._plain.write(data)
        self._packed.write(self._compressor.compress(data))

    def commit(self) -> tuple[IndexFile, IndexFile]:
        """``Packages`` and ``Packages.gz``, stored as artifacts."""
        self._packed.write(self._compressor.flush())
        return self._plain.commit(), self._packed.commit()

    def discard(self) -> None:
        self._plain.writer.discard()
        self._packed.writer.discard()
