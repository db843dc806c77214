"""Pulp 2 ``modulemd`` and ``modulemd_defaults`` units to modules and module defaults.

Both keep their YAML document (the file at ``_storage_path``, read by the caller) as the
snippet ``modules.yaml`` is written from. A module's ``artifacts`` are NEVRA strings naming the
modular packages it holds.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from typing import Any

import bson
from bson.errors import BSONError

from .advisories import ModuleRef, Nevra
from .errors import InvalidRpmUnit, optional_text, text_field

MODULEMD = "modulemd"
MODULEMD_DEFAULTS = "modulemd_defaults"
# name-[epoch:]version-release.arch; the name may hold dashes, the others may not.
_NEVRA = re.compile(r"(?P<n>.+)-(?:(?P<e>\d+):)?(?P<v>[^-:]+)-(?P<r>[^-:]+)\.(?P<a>[^-.:]+)")


def parse_nevra(text: str) -> Nevra:
    """``(name, epoch, version, release, arch)`` of ``name-epoch:version-release.arch``.

    The epoch is ``0`` when the string has none. ``ValueError`` when it is not a NEVRA.
    """
    match = _NEVRA.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a name-epoch:version-release.arch string")
    return (match["n"], match["e"] or "0", match["v"], match["r"], match["a"])


@dataclasses.dataclass(frozen=True)
class Module:
    name: str
    stream: str
    version: int
    context: str
    arch: str
    summary: str
    description: str
    artifacts: tuple[Nevra, ...]
    profiles_json: str
    """``{profile: [package names]}`` as canonical JSON."""
    dependencies_json: str
    snippet: str
    """The module's YAML document, as Pulp 2 stored it."""

    @property
    def ref(self) -> ModuleRef:
        return ModuleRef(self.name, self.stream, self.version, self.context, self.arch)


@dataclasses.dataclass(frozen=True)
class ModuleDefaults:
    module: str
    stream: str
    repo_id: str
    profiles: tuple[tuple[str, tuple[str, ...]], ...]
    """``(stream, default profiles)`` pairs, decoded from the BSON Pulp 2 stored them as."""
    digest: str
    snippet: str


def _canonical_json(fields: Mapping[str, Any], name: str, unit: str) -> str:
    try:
        return json.dumps(fields.get(name) or {}, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError) as error:
        raise InvalidRpmUnit.of(fields, unit, f"{name} is not plain data: {error}") from error


def decode_module(fields: Mapping[str, Any], snippet: str) -> Module:
    """The module a ``modulemd`` unit describes; ``snippet`` is its YAML document."""
    version = fields.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise InvalidRpmUnit.of(fields, MODULEMD, f"version {version!r} is not an integer")
    artifacts = fields.get("artifacts") or []
    if not isinstance(artifacts, list):
        raise InvalidRpmUnit.of(fields, MODULEMD, "artifacts is not a list")
    try:
        nevras = tuple(parse_nevra(str(artifact)) for artifact in artifacts)
    except ValueError as error:
        raise InvalidRpmUnit.of(fields, MODULEMD, f"artifact {error}") from error
    return Module(
        name=text_field(fields, "name", MODULEMD),
        stream=text_field(fields, "stream", MODULEMD),
        version=int(version),
        context=text_field(fields, "context", MODULEMD),
        arch=text_field(fields, "arch", MODULEMD),
        summary=optional_text(fields, "summary"),
        description=optional_text(fields, "description"),
        artifacts=nevras,
        profiles_json=_canonical_json(fields, "profiles", MODULEMD),
        dependencies_json=_canonical_json(fields, "dependencies", MODULEMD),
        snippet=snippet,
    )


def decode_profiles(stored: object) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Pulp 2's ``profiles``: a BSON document kept in a string (UTF-8), ``{stream: [names]}``."""
    if stored is None or stored == "":
        return ()
    if isinstance(stored, str):
        stored = stored.encode()
    if not isinstance(stored, bytes):
        raise ValueError(f"profiles {stored!r} is neither a string nor bytes")
    try:
        document = bson.decode(stored)
    except (BSONError, IndexError, ValueError) as error:
        raise ValueError(f"profiles is not a BSON document: {error}") from error
    pairs = []
    for stream, names in document.items():
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise ValueError(f"profiles of stream {stream!r} are not a list of names")
        pairs.append((stream, tuple(names)))
    return tuple(pairs)


def decode_module_defaults(fields: Mapping[str, Any], snippet: str) -> ModuleDefaults:
    """The defaults a ``modulemd_defaults`` unit describes; ``snippet`` is its YAML document."""
    try:
        profiles = decode_profiles(fields.get("profiles"))
    except ValueError as error:
        raise InvalidRpmUnit.of(fields, MODULEMD_DEFAULTS, str(error)) from error
    return ModuleDefaults(
        module=text_field(fields, "name", MODULEMD_DEFAULTS),
        stream=optional_text(fields, "stream"),
        repo_id=text_field(fields, "repo_id", MODULEMD_DEFAULTS),
        profiles=profiles,
        digest=optional_text(fields, "checksum"),
        snippet=snippet,
    )
