"""Checksum type names: Pulp 2's spellings to the ones Pulp 3 uses."""

from __future__ import annotations

import createrepo_c as cr

# Pulp 2 wrote ``sha`` for sha1 (yum's old name).
_ALIASES = {"sha": "sha1"}
KNOWN = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")
DEFAULT = "sha256"


class UnknownChecksumType(ValueError):
    """A checksum type name that is none of :data:`KNOWN` (nor ``sha``)."""


def normalize(name: object) -> str:
    """The Pulp 3 name of a Pulp 2 checksum type name (``sha`` is sha1; case is ignored)."""
    if not isinstance(name, str):
        raise UnknownChecksumType(f"checksum type {name!r} is not a string")
    lowered = name.strip().lower()
    lowered = _ALIASES.get(lowered, lowered)
    if lowered not in KNOWN:
        raise UnknownChecksumType(f"unknown checksum type {name!r}")
    return lowered


def createrepo_type(name: str) -> int | None:
    """createrepo_c's constant for a :data:`KNOWN` name; None for md5 and sha1, which the
    createrepo_c wheels are built without."""
    value: int = cr.checksum_type(name)
    return value if value != cr.CHECKSUM_UNKNOWN else None
