"""Pulp 2 ``deb``, ``deb_release`` and ``deb_component`` documents to what Pulp 3 keeps (pure).

A package keeps every control field Pulp 2 read, in order, as ``(name, value)`` pairs: the key
fields are also columns; the others are published back as they are. A value's continuation
lines are made what a control file needs (a leading space; an empty line is `` .``), so a
multi-line value Pulp 2 kept without them still publishes as one field.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

# Fields each Packages paragraph gets from the publication, whatever the package said.
PUBLISHED_FIELDS = frozenset({"filename", "size", "md5sum", "sha1", "sha256", "sha512"})
# The order dpkg writes a binary package's fields in (premigrate keeps control_fields as JSON,
# which keeps no order): these first, the others after them by name.
FIELD_ORDER = tuple(
    name.lower()
    for name in (
        "Package", "Package-Type", "Source", "Version", "Architecture", "Essential",
        "Maintainer", "Installed-Size", "Pre-Depends", "Depends", "Recommends", "Suggests",
        "Enhances", "Breaks", "Conflicts", "Provides", "Replaces", "Built-Using", "Multi-Arch",
        "Section", "Priority", "Homepage", "Description",
    )
)  # fmt: skip


class InvalidDebUnit(ValueError):
    """A unit that cannot become Pulp 3 content: its reason, named in the report."""


@dataclasses.dataclass(frozen=True)
class DebPackage:
    package: str
    version: str
    architecture: str
    source: str | None  # the source package's name, when the package names one
    relative_path: str  # its file name
    sha256: str
    size: int
    control: tuple[tuple[str, str], ...]


@dataclasses.dataclass(frozen=True)
class DebRelease:
    distribution: str  # without leading or trailing ``/``
    codename: str
    suite: str | None


@dataclasses.dataclass(frozen=True)
class DebComponent:
    name: str
    distribution: str  # as the unit has it: its release is found by it
    codename: str
    repo_id: str
    package_ids: tuple[str, ...]


def _text(fields: Mapping[str, Any], name: str) -> str:
    value = fields.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InvalidDebUnit(f"{name} {value!r} is not a non-empty string")
    return value


def distribution_path(raw: str) -> str:
    """A distribution as the folder under ``dists/`` it names: no leading or trailing ``/``;
    empty, ``.`` and ``..`` segments are refused."""
    stripped = raw.strip("/")
    segments = stripped.split("/")
    if any(segment in ("", ".", "..") for segment in segments) or any(
        char in stripped for char in "\0\n\r "
    ):
        raise InvalidDebUnit(f"distribution {raw!r} is not a folder name")
    return stripped


def control_value(name: str, value: Any) -> str:
    """``value`` as a control file field's value: continuation lines start with a space."""
    if not isinstance(value, str):
        raise InvalidDebUnit(f"control field {name} is {type(value).__name__}, not text")
    first, *rest = value.strip("\n").split("\n")
    lines = [first.rstrip()]
    for line in rest:
        if not line.strip():
            lines.append(" .")
        else:
            lines.append(line if line[0] in " \t" else f" {line}")
    return "\n".join(lines)


def _control(fields: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    control = fields.get("control_fields")
    if not isinstance(control, Mapping) or not control:
        raise InvalidDebUnit(f"control_fields {control!r} is not a mapping of fields")
    pairs = []
    for name, value in control.items():
        if not name or any(char in name for char in ": \n") or not name.isascii():
            raise InvalidDebUnit(f"control field name {name!r} is not a field name")
        if name.lower() not in PUBLISHED_FIELDS:
            pairs.append((name, control_value(name, value)))
    known = {name: position for position, name in enumerate(FIELD_ORDER)}
    return tuple(
        sorted(pairs, key=lambda pair: (known.get(pair[0].lower(), len(known)), pair[0].lower()))
    )


def decode_package(fields: Mapping[str, Any]) -> DebPackage:
    """The package a Pulp 2 ``deb`` unit describes, or ``InvalidDebUnit``."""
    checksum_type = fields.get("checksumtype")
    if checksum_type != "sha256":
        raise InvalidDebUnit(f"checksumtype {checksum_type!r}: a package is known by its sha256")
    checksum = _text(fields, "checksum").lower()
    if len(checksum) != 64 or any(char not in "0123456789abcdef" for char in checksum):
        raise InvalidDebUnit(f"checksum {checksum!r} is not a sha256")
    filename = _text(fields, "filename")
    if "/" in filename or filename in (".", ".."):
        raise InvalidDebUnit(f"filename {filename!r} is not a file name")
    size = fields.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise InvalidDebUnit(f"size {size!r} is not a byte count")
    control = _control(fields)
    by_name = {name.lower(): value for name, value in control}
    source = by_name.get("source")
    return DebPackage(
        package=_text(fields, "package"),
        version=_text(fields, "version"),
        architecture=_text(fields, "architecture"),
        source=source.split("(", 1)[0].strip() or None if source else None,
        relative_path=filename,
        sha256=checksum,
        size=size,
        control=control,
    )


def decode_release(fields: Mapping[str, Any]) -> DebRelease:
    """The release a Pulp 2 ``deb_release`` unit describes, or ``InvalidDebUnit``."""
    suite = fields.get("suite")
    if suite is not None and not isinstance(suite, str):
        raise InvalidDebUnit(f"suite {suite!r} is not text")
    return DebRelease(
        distribution=distribution_path(_text(fields, "distribution")),
        codename=_text(fields, "codename"),
        suite=suite or None,
    )


def decode_component(fields: Mapping[str, Any]) -> DebComponent:
    """The component a Pulp 2 ``deb_component`` unit describes, or ``InvalidDebUnit``."""
    name = _text(fields, "name")
    if "/" in name.strip("/") or name.strip("/") in (".", ".."):
        raise InvalidDebUnit(f"component name {name!r} is not a folder name")
    packages = fields.get("packages") or []
    if not isinstance(packages, list) or not all(isinstance(p, str) for p in packages):
        raise InvalidDebUnit(f"packages {packages!r} is not a list of unit ids")
    return DebComponent(
        name=name.strip("/"),
        distribution=_text(fields, "distribution"),
        codename=_text(fields, "release"),
        repo_id=_text(fields, "repoid"),
        package_ids=tuple(dict.fromkeys(packages)),
    )
