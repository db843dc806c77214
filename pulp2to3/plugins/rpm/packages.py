"""Pulp 2 ``rpm`` and ``srpm`` units to packages, from the repodata snippets Pulp 2 published.

Each snippet is ``zlib.compress`` of one ``<package>`` element written as a template: the
checksum type and value (primary) and the pkgid (filelists, other) are placeholders filled from
the unit's own ``checksumtype``/``checksum``. Only the first placeholder of each is replaced, at
the place the template has it, because descriptions and changelogs may hold ``{{`` as data.
createrepo_c parses the filled snippets; the package keeps them in createrepo_c's own canonical
form (changelogs cut to the newest :data:`CHANGELOG_LIMIT`), which the publisher parses back.
The changelogs are cut in the ``other`` snippet, before createrepo_c parses it: its package's
``changelogs`` setter leaks the list it replaces (a worker grew by about 300 bytes a package,
130 MiB over 450,000 packages; docs/benchmarks.md, "RPM decoding's memory").
"""

from __future__ import annotations

import dataclasses
import re
import zlib
from collections.abc import Mapping
from typing import Any
from xml.etree import ElementTree

import createrepo_c as cr

from . import checksums
from .errors import InvalidRpmUnit, text_field

CONTENT_TYPES = ("rpm", "srpm")
CHANGELOG_LIMIT = 10
SNIPPETS = ("primary", "filelists", "other")

_PLACEHOLDER = r"\{\{\s*%s\s*\}\}"
_CHECKSUM_TYPE = re.compile(r'(<checksum\b[^>]*\btype=")' + _PLACEHOLDER % "checksumtype" + '(")')
_CHECKSUM_VALUE = re.compile(
    r"(<checksum\b[^>]*>)\s*" + _PLACEHOLDER % "checksum" + r"\s*(</checksum>)"
)
_PKGID = re.compile(r'(<package\b[^>]*\bpkgid=")' + _PLACEHOLDER % "pkgid" + '(")')
_CHANGELOG = re.compile(r"<changelog\b")
_CHANGELOG_DATE = re.compile(r'<changelog\b[^>]*?\bdate="(\d+)"')


@dataclasses.dataclass(frozen=True)
class RpmPackage:
    """A package as Pulp 3 keeps it: the key fields, and its three repodata snippets."""

    content_type: str  # rpm or srpm
    name: str
    epoch: str
    version: str
    release: str
    arch: str
    checksum_type: str
    pkg_id: str
    location_href: str
    is_modular: bool
    primary_xml: str
    filelists_xml: str
    other_xml: str

    @property
    def nevra(self) -> tuple[str, str, str, str, str]:
        return (self.name, self.epoch, self.version, self.release, self.arch)

    @property
    def filename(self) -> str:
        return self.location_href.rsplit("/", 1)[-1]

    def to_createrepo(self) -> cr.Package:
        """A fresh createrepo_c package parsed from the kept snippets."""
        return parse_snippets(self.primary_xml, self.filelists_xml, self.other_xml)


def package_location(filename: str) -> str:
    """Where a package file is in a published repository: ``Packages/<first letter>/<file>``."""
    return f"Packages/{filename[0].lower()}/{filename}"


class SnippetError(ValueError):
    """Snippets createrepo_c cannot read as exactly one package."""


def parse_snippets(primary: str, filelists: str, other: str) -> cr.Package:
    """The one package the three ``<package>`` snippets describe together."""
    parsed: list[cr.Package] = []
    warnings: list[str] = []

    def on_package(package: cr.Package) -> bool:
        parsed.append(package)
        return True

    def same_package(pkg_id: str, name: str, arch: str) -> cr.Package | None:
        return parsed[0] if parsed and parsed[0].pkgId == pkg_id else None

    def on_warning(kind: int, message: str) -> bool:
        warnings.append(message)
        return True

    try:
        # do_files off: filelists carries every file, primary only a subset of them.
        cr.xml_parse_primary_snippet(primary, None, on_package, on_warning, 0)
        if len(parsed) != 1:
            raise SnippetError(f"the primary snippet holds {len(parsed)} packages, not 1")
        cr.xml_parse_filelists_snippet(filelists, same_package, on_package, on_warning)
        cr.xml_parse_other_snippet(other, same_package, on_package, on_warning)
    except cr.CreaterepoCError as error:
        raise SnippetError(str(error).strip()) from error
    if warnings:
        raise SnippetError("; ".join(warnings))
    if len(parsed) != 3:
        raise SnippetError("the filelists or other snippet names another package than primary")
    return parsed[0]


def _fill(pattern: re.Pattern[str], template: str, value: str) -> str:
    def replace(match: re.Match[str]) -> str:
        return match.group(1) + value + match.group(2)

    return pattern.sub(replace, template, count=1)


def _snippet(fields: Mapping[str, Any], content_type: str, name: str) -> str:
    repodata = fields.get("repodata")
    raw = repodata.get(name) if isinstance(repodata, Mapping) else None
    if raw is None:
        raise InvalidRpmUnit.of(fields, content_type, f"repodata.{name} is missing")
    if not isinstance(raw, bytes):
        raise InvalidRpmUnit.of(
            fields, content_type, f"repodata.{name} is {type(raw).__name__}, not binary"
        )
    try:
        return zlib.decompress(raw).decode()
    except (zlib.error, UnicodeDecodeError) as error:
        raise InvalidRpmUnit.of(
            fields, content_type, f"repodata.{name} is not zlib-compressed UTF-8: {error}"
        ) from error


def _local_name(tag: str) -> str:
    return tag.rpartition("}")[2]


def _date(changelog: ElementTree.Element) -> int:
    date = changelog.get("date", "")
    return int(date) if date.isdigit() else 0


def _newest_changelogs(other: str) -> str:
    """The ``other`` snippet with its newest :data:`CHANGELOG_LIMIT` changelogs, oldest first
    as other.xml has them (entries of one date in the snippet's order)."""
    dates = _CHANGELOG_DATE.findall(other)
    if len(dates) == len(_CHANGELOG.findall(other)) <= CHANGELOG_LIMIT and dates == sorted(
        dates, key=int
    ):
        return other  # already so: most packages
    if "<!DOCTYPE" in other:  # nor entities, then: what expat would expand (other.xml has none)
        raise SnippetError("the other snippet has a document type declaration")
    try:
        package = ElementTree.fromstring(other)  # noqa: S314 (no DTD, so no entity expansion)
    except ElementTree.ParseError as error:
        raise SnippetError(f"the other snippet is not XML: {error}") from error
    for element in package.iter():  # the snippet alone, as createrepo_c's parser reads it
        element.tag = _local_name(element.tag)
    changelogs = [child for child in package if child.tag == "changelog"]
    for changelog in changelogs:
        package.remove(changelog)
    package.extend(sorted(changelogs, key=_date)[-CHANGELOG_LIMIT:])
    return ElementTree.tostring(package, encoding="unicode")


def decode_package(fields: Mapping[str, Any], content_type: str) -> RpmPackage:
    """The package a Pulp 2 ``rpm``/``srpm`` unit document describes, or ``InvalidRpmUnit``."""
    checksum = text_field(fields, "checksum", content_type).lower()
    try:
        checksum_type = checksums.normalize(fields.get("checksumtype"))
    except checksums.UnknownChecksumType as error:
        raise InvalidRpmUnit.of(fields, content_type, str(error)) from error
    filename = text_field(fields, "filename", content_type)
    if "/" in filename or filename in (".", ".."):
        raise InvalidRpmUnit.of(fields, content_type, f"filename {filename!r} is not a file name")
    primary = _fill(_CHECKSUM_TYPE, _snippet(fields, content_type, "primary"), checksum_type)
    primary = _fill(_CHECKSUM_VALUE, primary, checksum)
    filelists = _fill(_PKGID, _snippet(fields, content_type, "filelists"), checksum)
    other = _fill(_PKGID, _snippet(fields, content_type, "other"), checksum)
    try:
        package = parse_snippets(primary, filelists, _newest_changelogs(other))
    except SnippetError as error:
        raise InvalidRpmUnit.of(
            fields, content_type, f"repodata does not parse: {error}"
        ) from error
    if package.pkgId != checksum:
        raise InvalidRpmUnit.of(
            fields, content_type, f"repodata names pkgId {package.pkgId!r}, the unit {checksum!r}"
        )
    missing = [
        part for part in ("name", "version", "release", "arch") if not getattr(package, part)
    ]
    if missing:
        raise InvalidRpmUnit.of(fields, content_type, f"repodata has no {', '.join(missing)}")
    location = package_location(filename)
    package.location_href = location
    package.location_base = None
    package.checksum_type = checksum_type
    return RpmPackage(
        content_type=content_type,
        name=package.name,
        epoch=package.epoch or "0",
        version=package.version,
        release=package.release,
        arch=package.arch,
        checksum_type=checksum_type,
        pkg_id=checksum,
        location_href=location,
        is_modular=fields.get("is_modular") is True,
        primary_xml=cr.xml_dump_primary(package),
        filelists_xml=cr.xml_dump_filelists(package),
        other_xml=cr.xml_dump_other(package),
    )
