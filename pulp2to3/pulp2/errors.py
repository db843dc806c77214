"""The exceptions of an unreadable Pulp 2 dump: the reader's, and the one the steps raise."""

from __future__ import annotations

from pathlib import Path


class DumpError(Exception):
    """A dump file is truncated, corrupt, or not a mongodump dump at all.

    ``offset`` is the byte offset of the faulty item in the file, or in the decompressed stream
    when the file is gzip-compressed (``compressed`` says which); ``None`` when the fault is not
    tied to one place (a missing folder, an unfinished collection at the end of the archive).
    """

    def __init__(
        self, path: Path, reason: str, *, offset: int | None = None, compressed: bool = False
    ) -> None:
        self.path = path
        self.reason = reason
        self.offset = offset
        self.compressed = compressed
        if offset is None:
            where = ""
        elif compressed:
            where = f" at offset {offset} of the decompressed gzip stream"
        else:
            where = f" at offset {offset}"
        super().__init__(f"{path}{where}: {reason}")


class DumpUnreadable(Exception):
    """The Pulp 2 dump is not configured or cannot be read; the message says which and why."""

    @classmethod
    def not_configured(cls) -> DumpUnreadable:
        return cls("PULP2TO3_PULP2_DUMP is not set: there is no Pulp 2 dump to read.")

    @classmethod
    def because(cls, error: DumpError) -> DumpUnreadable:
        return cls(f"The Pulp 2 dump cannot be read: {error}")
