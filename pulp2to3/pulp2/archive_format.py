"""Constants of the mongodump formats, shared by the reader and the sample writer."""

from __future__ import annotations

ARCHIVE_MAGIC = (0x8199E26D).to_bytes(4, "little")
ARCHIVE_VERSION = "0.1"
TERMINATOR = b"\xff\xff\xff\xff"
GZIP_MAGIC = b"\x1f\x8b"

MIN_DOCUMENT_SIZE = 5
# MongoDB caps user documents at 16 MiB; the server allows 16 KiB more for its own overhead.
MAX_DOCUMENT_SIZE = 16 * 1024 * 1024 + 16 * 1024

DEFAULT_DATABASE = "pulp_database"
