"""Pulp 2 ``distribution`` units (kickstart trees) and their ``.treeinfo``, read as INI.

Two ``.treeinfo`` shapes exist: productmd's (``[header]``, ``[release]``, ``[tree]``,
``[variant-<id>]``) and the older one (``[general]``). Both have ``[images-<platform>]``
(image name = path), ``[stage2]`` and ``[checksums]`` (path = ``type:hex``).
"""

from __future__ import annotations

import configparser
import dataclasses
from collections.abc import Mapping
from typing import Any

from .errors import InvalidRpmUnit, text_field

CONTENT_TYPE = "distribution"
TREEINFO_NAMES = (".treeinfo", "treeinfo")


@dataclasses.dataclass(frozen=True)
class Image:
    name: str
    path: str
    platform: str


@dataclasses.dataclass(frozen=True)
class Variant:
    variant_id: str
    uid: str
    name: str
    type: str
    packages: str
    repository: str


@dataclasses.dataclass(frozen=True)
class Checksum:
    path: str
    type: str
    value: str


@dataclasses.dataclass(frozen=True)
class DistributionTree:
    distribution_id: str
    family: str
    variant: str
    version: str
    arch: str
    header_version: str
    release_name: str
    release_short: str
    release_version: str
    build_timestamp: float | None
    packagedir: str
    variants: tuple[Variant, ...]
    images: tuple[Image, ...]
    checksums: tuple[Checksum, ...]
    files: tuple[str, ...]
    """Paths (relative to the tree) of the files Pulp 2 recorded, trailing newlines stripped."""
    treeinfo: str


class _Sections:
    """Look-ups over a parsed ``.treeinfo`` that give ``""`` for what is missing."""

    def __init__(self, parser: configparser.ConfigParser) -> None:
        self.parser = parser

    def get(self, section: str, option: str, default: str = "") -> str:
        return self.parser.get(section, option, fallback=default)

    def first(self, *places: tuple[str, str]) -> str:
        for section, option in places:
            value = self.get(section, option)
            if value:
                return value
        return ""

    def prefixed(self, prefix: str) -> list[tuple[str, configparser.SectionProxy]]:
        return [
            (name.removeprefix(prefix), self.parser[name])
            for name in self.parser.sections()
            if name.startswith(prefix)
        ]


def parse_treeinfo(text: str) -> configparser.ConfigParser:
    """``.treeinfo`` text as INI; ``configparser.Error`` when it is not INI."""
    # Paths in [checksums] are case sensitive, and values may hold '%'.
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment, method-assign]
    parser.read_string(text)
    return parser


def _timestamp(value: str) -> float | None:
    return float(value) if value else None


def decode_distribution(fields: Mapping[str, Any], treeinfo: str) -> DistributionTree:
    """The kickstart tree a ``distribution`` unit and its ``.treeinfo`` text describe."""
    try:
        ini = _Sections(parse_treeinfo(treeinfo))
        build_timestamp = _timestamp(
            ini.first(("tree", "build_timestamp"), ("general", "timestamp"))
        )
        variants = tuple(
            Variant(
                variant_id=section.get("id", variant_id),
                uid=section.get("uid", variant_id),
                name=section.get("name", variant_id),
                type=section.get("type", "variant"),
                packages=section.get("packages", ""),
                repository=section.get("repository", ""),
            )
            for variant_id, section in ini.prefixed("variant-")
        )
        images = tuple(
            Image(name=name, path=path, platform=platform)
            for platform, section in ini.prefixed("images-")
            for name, path in section.items()
        )
        checksums = []
        if ini.parser.has_section("checksums"):
            for path, value in ini.parser["checksums"].items():
                kind, _, digest = value.partition(":")
                if not digest:
                    raise ValueError(f"checksum of {path!r} is not type:hex")
                checksums.append(Checksum(path=path, type=kind, value=digest))
    except (configparser.Error, ValueError) as error:
        raise InvalidRpmUnit.of(
            fields, CONTENT_TYPE, f".treeinfo does not parse: {error}"
        ) from error
    files = fields.get("files") or []
    if not isinstance(files, list) or not all(isinstance(f, Mapping) for f in files):
        raise InvalidRpmUnit.of(fields, CONTENT_TYPE, "files is not a list of documents")
    return DistributionTree(
        distribution_id=text_field(fields, "distribution_id", CONTENT_TYPE),
        family=text_field(fields, "family", CONTENT_TYPE),
        variant=str(fields.get("variant") or ""),
        version=text_field(fields, "version", CONTENT_TYPE),
        arch=text_field(fields, "arch", CONTENT_TYPE),
        header_version=ini.get("header", "version", "1.0"),
        release_name=ini.first(("release", "name"), ("general", "family")),
        release_short=ini.first(("release", "short"), ("general", "family")),
        release_version=ini.first(("release", "version"), ("general", "version")),
        build_timestamp=build_timestamp,
        packagedir=str(fields.get("packagedir") or ini.get("general", "packagedir")),
        variants=variants,
        images=images,
        checksums=tuple(checksums),
        files=tuple(str(entry.get("relativepath", "")).strip() for entry in files),
        treeinfo=treeinfo,
    )
