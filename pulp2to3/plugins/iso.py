"""The ISO plugin's mapping rules (pure): a Pulp 2 ``iso`` unit becomes Pulp 3 ``file.file``.

A unit's own fields (``name``, ``checksum``, ``size``; see the Pulp 2 source spec) become the
file's ``relative_path``, ``digest`` and ``size``, its natural key: two units with the same
three values are the same content. The content's file is published at ``name``, so ``name``
must be a safe relative path.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any

MANIFEST_NAME = "PULP_MANIFEST"
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
# Characters that would break a PULP_MANIFEST line or a path.
_FORBIDDEN_IN_NAME = re.compile(r"[\x00\n\r]")
# An empty, '.' or '..' component, in a name with a slash added at each end.
_EMPTY_OR_DOTS = re.compile(r"/\.{0,2}/")


class InvalidUnit(ValueError):
    """A unit whose fields cannot make a valid Pulp 3 file content (a per-unit failure)."""


@dataclasses.dataclass(frozen=True)
class IsoFile:
    """An ISO unit's fields, checked and normalized (checksum in lower case)."""

    name: str
    checksum: str  # sha256, hex, lower case
    size: int

    @property
    def fields(self) -> dict[str, Any]:
        """The Pulp 3 file content's fields; ``relative_path`` is where the file is in a
        repository version (its content artifact's path)."""
        return {"relative_path": self.name, "digest": self.checksum, "size": self.size}


def check_relative_path(name: object) -> str:
    """``name`` if it is a path that stays inside the folder it is published in."""
    if not isinstance(name, str) or not name:
        raise InvalidUnit("name is missing or not a string")
    if _FORBIDDEN_IN_NAME.search(name):
        raise InvalidUnit(f"name {name!r} contains a NUL or line break")
    if name.startswith("/"):
        raise InvalidUnit(f"name {name!r} is an absolute path")
    if _EMPTY_OR_DOTS.search(f"/{name}/"):
        raise InvalidUnit(f"name {name!r} has an empty, '.' or '..' component")
    return name


def parse_fields(fields: Mapping[str, Any]) -> IsoFile:
    """The ISO file a unit's fields describe; ``InvalidUnit`` says why they do not."""
    name = check_relative_path(fields.get("name"))
    checksum = fields.get("checksum")
    if not isinstance(checksum, str) or not _SHA256.fullmatch(checksum):
        raise InvalidUnit(f"checksum {checksum!r} is not a sha256 hex digest")
    size = fields.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise InvalidUnit(f"size {size!r} is not a non-negative integer")
    return IsoFile(name=name, checksum=checksum.lower(), size=size)


def manifest_lines(
    relative_paths: Sequence[str], sha256s: Sequence[str], sizes: Sequence[int]
) -> str:
    """The PULP_MANIFEST lines of these files, each ended by a newline. The paths are checked
    together, by one search of them joined, rather than one by one."""
    if "" in relative_paths or _FORBIDDEN_IN_NAME.search("".join(relative_paths)):
        bad = next(p for p in relative_paths if not p or _FORBIDDEN_IN_NAME.search(p))
        raise ValueError(f"relative path {bad!r} cannot be a PULP_MANIFEST entry")
    return "".join(
        [
            f"{path},{sha256},{size}\n"
            for path, sha256, size in zip(relative_paths, sha256s, sizes, strict=True)
        ]
    )
