"""Reading the Pulp 2 source: its MongoDB dump and its file tree. Pure I/O, no queue, no HTTP."""

from .dump import Dump, open_dump
from .errors import DumpError
from .paths import UnsafePath, confine_to_root, map_storage_path, resolve_storage_path

__all__ = [
    "Dump",
    "DumpError",
    "UnsafePath",
    "confine_to_root",
    "map_storage_path",
    "open_dump",
    "resolve_storage_path",
]
