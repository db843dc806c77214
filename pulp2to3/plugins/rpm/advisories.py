"""Pulp 2 ``erratum`` units and their ``erratum_pkglists`` to advisories and their collections.

A Pulp 2 erratum has one package list per repository; Pulp 3 has one advisory with collections.
:func:`merge_pkglists` folds the lists of every repository into one non-modular collection plus
one per module; :func:`filter_collections` then keeps, for one repository version, only what
that repository holds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Container, Iterable, Mapping
from datetime import datetime
from typing import Any

import createrepo_c as cr

from pulp2to3.pulp2.staging import aware

from . import checksums
from .errors import InvalidRpmUnit, optional_text, text_field

CONTENT_TYPE = "erratum"
# Advisory fields that createrepo_c's UpdateRecord has under the same name.
_RECORD_TEXT = (
    "id",
    "title",
    "type",
    "status",
    "severity",
    "summary",
    "description",
    "solution",
    "rights",
    "release",
    "version",
    "fromstr",
    "pushcount",
)
_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")

Nevra = tuple[str, str, str, str, str]
"""(name, epoch, version, release, arch), the epoch ``0`` when Pulp 2 left it empty."""


@dataclasses.dataclass(frozen=True)
class ModuleRef:
    name: str
    stream: str
    version: int
    context: str
    arch: str


@dataclasses.dataclass(frozen=True)
class AdvisoryPackage:
    name: str
    epoch: str
    version: str
    release: str
    arch: str
    filename: str
    src: str
    sum_type: str | None
    sum: str | None
    reboot_suggested: bool

    @property
    def nevra(self) -> Nevra:
        return (self.name, self.epoch, self.version, self.release, self.arch)


@dataclasses.dataclass(frozen=True)
class Collection:
    name: str
    short: str
    module: ModuleRef | None
    packages: tuple[AdvisoryPackage, ...]


@dataclasses.dataclass(frozen=True)
class Reference:
    href: str
    id: str
    title: str
    type: str


@dataclasses.dataclass(frozen=True)
class Advisory:
    id: str
    title: str
    type: str
    status: str
    issued: datetime | None
    updated: datetime | None
    severity: str
    summary: str
    description: str
    solution: str
    rights: str
    release: str
    version: str
    fromstr: str
    pushcount: str
    reboot_suggested: bool
    references: tuple[Reference, ...]


def read_date(text: object) -> datetime | None:
    """A Pulp 2 erratum date: ``2019-01-02 03:04:05``, with ` UTC`, a bare date or ISO 8601.

    ``None`` for an empty or missing date; ``ValueError`` for text that is none of these.
    """
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    if isinstance(text, datetime):
        return text
    if not isinstance(text, str):
        raise ValueError(f"date {text!r} is not a string")
    stripped = text.strip().removesuffix(" UTC").strip()
    for date_format in _DATE_FORMATS:
        try:
            return datetime.strptime(stripped, date_format)
        except ValueError:
            continue
    try:
        moment = datetime.fromisoformat(stripped)
    except ValueError:
        raise ValueError(f"date {text!r} is not a date Pulp 2 writes") from None
    return aware(moment).replace(tzinfo=None)


def decode_advisory(fields: Mapping[str, Any]) -> Advisory:
    """The advisory an ``erratum`` unit describes (without its collections)."""
    errata_id = text_field(fields, "errata_id", CONTENT_TYPE)
    dates: dict[str, datetime | None] = {}
    for name in ("issued", "updated"):
        try:
            dates[name] = read_date(fields.get(name))
        except ValueError as error:
            raise InvalidRpmUnit.of(fields, CONTENT_TYPE, f"{name}: {error}") from error
    references = fields.get("references") or []
    if not isinstance(references, list) or not all(isinstance(r, Mapping) for r in references):
        raise InvalidRpmUnit.of(fields, CONTENT_TYPE, "references is not a list of documents")
    return Advisory(
        id=errata_id,
        title=optional_text(fields, "title"),
        type=optional_text(fields, "type"),
        status=optional_text(fields, "status"),
        issued=dates["issued"],
        updated=dates["updated"],
        severity=optional_text(fields, "severity"),
        summary=optional_text(fields, "summary"),
        description=optional_text(fields, "description"),
        solution=optional_text(fields, "solution"),
        rights=optional_text(fields, "rights"),
        release=optional_text(fields, "release"),
        version=optional_text(fields, "version"),
        fromstr=optional_text(fields, "from"),
        pushcount=optional_text(fields, "pushcount"),
        reboot_suggested=bool(fields.get("reboot_suggested")),
        references=tuple(
            Reference(
                href=optional_text(reference, "href"),
                id=optional_text(reference, "id"),
                title=optional_text(reference, "title"),
                type=optional_text(reference, "type"),
            )
            for reference in references
        ),
    )


def _package_sum(package: Mapping[str, Any]) -> tuple[str | None, str | None]:
    pair = package.get("sum")
    if isinstance(pair, list) and len(pair) >= 2:
        kind, value = pair[0], pair[1]
    elif package.get("sums"):
        kind, value = package.get("type"), package.get("sums")
    else:
        return None, None
    return checksums.normalize(kind), str(value)


def _package(package: Mapping[str, Any]) -> AdvisoryPackage:
    sum_type, value = _package_sum(package)
    return AdvisoryPackage(
        name=str(package["name"]),
        epoch=optional_text(package, "epoch") or "0",
        version=str(package["version"]),
        release=str(package["release"]),
        arch=str(package["arch"]),
        filename=optional_text(package, "filename"),
        src=optional_text(package, "src"),
        sum_type=sum_type,
        sum=value,
        reboot_suggested=bool(package.get("reboot_suggested")),
    )


def _module(collection: Mapping[str, Any]) -> ModuleRef | None:
    module = collection.get("module")
    if not module:
        return None
    return ModuleRef(
        name=str(module["name"]),
        stream=str(module["stream"]),
        version=int(module["version"]),
        context=str(module["context"]),
        arch=str(module["arch"]),
    )


@dataclasses.dataclass
class _Merged:
    name: str
    short: str
    module: ModuleRef | None
    packages: dict[tuple[Nevra, str], AdvisoryPackage] = dataclasses.field(default_factory=dict)


def merge_pkglists(errata_id: str, pkglists: Iterable[Mapping[str, Any]]) -> tuple[Collection, ...]:
    """One non-modular collection, then one per module, over every repository's package list.

    A package listed by several repositories appears once. ``InvalidRpmUnit`` names the erratum
    when a list is malformed.
    """
    plain = _Merged(name=f"{errata_id}-collection", short="", module=None)
    modular: dict[ModuleRef, _Merged] = {}
    seen_plain_name = False
    try:
        for pkglist in pkglists:
            for collection in pkglist.get("collections") or []:
                module = _module(collection)
                if module is None:
                    target = plain
                    if not seen_plain_name and collection.get("name"):
                        plain.name = str(collection["name"])
                        plain.short = optional_text(collection, "short")
                        seen_plain_name = True
                else:
                    target = modular.setdefault(
                        module,
                        _Merged(
                            name=optional_text(collection, "name") or f"{errata_id}-{module.name}",
                            short=optional_text(collection, "short"),
                            module=module,
                        ),
                    )
                for raw in collection.get("packages") or []:
                    package = _package(raw)
                    target.packages.setdefault((package.nevra, package.filename), package)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise InvalidRpmUnit(
            CONTENT_TYPE, errata_id, f"erratum_pkglists entry is malformed: {error!r}"
        ) from error
    return tuple(
        Collection(
            name=merged.name,
            short=merged.short,
            module=merged.module,
            packages=tuple(merged.packages.values()),
        )
        for merged in (plain, *modular.values())
    )


def filter_collections(
    collections: Iterable[Collection],
    holds_package: Container[Nevra],
    holds_module: Container[ModuleRef],
) -> tuple[Collection, ...]:
    """The collections as one repository sees them: only its packages, only its modules.

    The non-modular collection stays even when empty, so the advisory is still there.
    """
    return tuple(
        dataclasses.replace(
            collection,
            packages=tuple(p for p in collection.packages if p.nevra in holds_package),
        )
        for collection in collections
        if collection.module is None or collection.module in holds_module
    )


def update_record(advisory: Advisory, collections: Iterable[Collection]) -> cr.UpdateRecord:
    """The createrepo_c record ``updateinfo.xml`` is written from."""
    record = cr.UpdateRecord()
    for attribute in _RECORD_TEXT:
        value = getattr(advisory, attribute)
        if value:
            setattr(record, attribute, value)
    record.issued_date = advisory.issued
    record.updated_date = advisory.updated
    record.reboot_suggested = advisory.reboot_suggested
    for reference in advisory.references:
        ref = cr.UpdateReference()
        ref.href, ref.id, ref.title, ref.type = (
            reference.href,
            reference.id,
            reference.title,
            reference.type,
        )
        record.append_reference(ref)
    for collection in collections:
        record.append_collection(_update_collection(collection))
    return record


def _update_collection(collection: Collection) -> cr.UpdateCollection:
    result = cr.UpdateCollection()
    result.name = collection.name
    result.shortname = collection.short
    if collection.module is not None:
        module = cr.UpdateCollectionModule()
        module.name = collection.module.name
        module.stream = collection.module.stream
        module.version = collection.module.version
        module.context = collection.module.context
        module.arch = collection.module.arch
        result.module = module
    for package in collection.packages:
        entry = cr.UpdateCollectionPackage()
        entry.name, entry.epoch, entry.version = package.name, package.epoch, package.version
        entry.release, entry.arch = package.release, package.arch
        entry.filename, entry.src = package.filename, package.src
        sum_type = None if package.sum_type is None else checksums.createrepo_type(package.sum_type)
        # createrepo_c cannot write md5 or sha1 sums: the package is listed without one.
        if package.sum is not None and sum_type is not None:
            entry.sum = package.sum
            entry.sum_type = sum_type
        entry.reboot_suggested = package.reboot_suggested
        result.append(entry)
    return result
