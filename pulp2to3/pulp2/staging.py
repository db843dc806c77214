"""Pulp 2 documents as staging rows: pure conversions, plus the chunked pass over a dump.

Each converter takes one decoded MongoDB document and returns one row (a ``NamedTuple`` whose
fields are the columns of the matching ``pulp2_*`` staging table, in order), or raises
:class:`BadDocument` saying what is wrong with it. Values come out as PostgreSQL wants them:
ObjectIds as hex text, datetimes aware (UTC), ISO-8601 strings parsed, everything destined for a
``jsonb`` column JSON-able (bytes as base64 text, ObjectIds as text, datetimes as ISO-8601).

:func:`stage_dump` reads the collections the staging tables need in one pass and hands out the
rows in chunks of a bounded number of documents, so memory never depends on the dump's size.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import uuid
from collections.abc import Collection, Generator, Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

from bson import ObjectId
from bson.decimal128 import Decimal128
from bson.regex import Regex
from bson.timestamp import Timestamp

from .dump import Dump

REPOS = "repos"
IMPORTERS = "repo_importers"
DISTRIBUTORS = "repo_distributors"
MEMBERSHIPS = "repo_content_units"
LAZY_CATALOG = "lazy_content_catalog"
UNITS_PREFIX = "units_"

# Keys of a unit document that are Pulp 2's bookkeeping, not the type's own fields.
_UNIT_BOOKKEEPING = frozenset({"downloaded", "pulp_user_metadata"})

Document = Mapping[str, Any]


class BadDocument(ValueError):
    """A document lacks a field its row needs, or holds a value PostgreSQL cannot store."""


class RepositoryRow(NamedTuple):
    pulp2_object_id: str
    pulp2_repo_id: str
    pulp2_repo_type: str | None
    content_unit_counts: dict[str, Any]
    last_unit_added: datetime | None
    last_unit_removed: datetime | None


class ImporterRow(NamedTuple):
    pulp2_object_id: str
    pulp2_repo_id: str
    importer_type_id: str
    config: dict[str, Any]
    last_updated: datetime | None


class DistributorRow(NamedTuple):
    pulp2_object_id: str
    pulp2_repo_id: str
    distributor_id: str
    distributor_type_id: str
    config: dict[str, Any]
    auto_publish: bool
    last_publish: datetime | None
    last_updated: datetime | None


class RepoContentRow(NamedTuple):
    pulp2_repo_id: str
    pulp2_unit_id: str
    unit_type_id: str
    created: datetime | None
    updated: datetime | None


class ContentRow(NamedTuple):
    pulp2_id: str
    content_type: str
    last_updated: int
    storage_path: str | None
    downloaded: bool
    fields: str
    """The unit's own fields as JSON text: encoded here, in the reader's thread, and measured
    (``StagedChunk.size``); the merge casts it to ``jsonb``."""


class LazyCatalogRow(NamedTuple):
    pulp2_unit_id: str
    unit_type_id: str
    importer_id: str
    url: str
    path: str | None
    checksum: str | None
    checksum_algorithm: str | None
    revision: int


# ---------------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------------


def aware(moment: datetime) -> datetime:
    """``moment`` with a UTC time zone; BSON datetimes decode naive but are UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_timestamp(value: Any) -> datetime | None:
    """A BSON datetime or an ISO-8601 string (``2019-10-31T18:32:26Z``) as an aware datetime.

    ``None`` for a missing value or one that is not a time at all: these timestamps only say
    when something changed, and a membership is worth more than its unreadable date.
    """
    if isinstance(value, datetime):
        return aware(value)
    if isinstance(value, str):
        try:
            return aware(datetime.fromisoformat(value.strip()))
        except ValueError:
            return None
    return None


def text(value: Any, field: str) -> str:
    """``value`` as text fit for a PostgreSQL ``text`` column (ObjectIds as hex)."""
    if type(value) is str and "\x00" not in value:  # the usual case, first
        return value
    if isinstance(value, ObjectId):
        return str(value)
    if not isinstance(value, str):
        raise BadDocument(f"{field} is {type(value).__name__}, not a string")
    if "\x00" in value:
        raise BadDocument(f"{field} holds a NUL character")
    return str(value)  # plain str: bson's Code is a str subclass


def required_text(document: Document, field: str) -> str:
    value = document.get(field)
    if value is None:
        raise BadDocument(f"no {field}")
    result = text(value, field)
    if not result:
        raise BadDocument(f"{field} is empty")
    return result


def optional_text(document: Document, field: str) -> str | None:
    value = document.get(field)
    return None if value is None else text(value, field)


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data PostgreSQL's ``jsonb`` accepts."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        if "\x00" in value:  # jsonb refuses \u0000
            raise BadDocument("a string holds a NUL character")
        return str(value)
    if isinstance(value, int):
        return int(value)  # bson's Int64 is an int subclass
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)  # JSON has no NaN nor infinity
    if isinstance(value, datetime):
        return aware(value).isoformat()
    if isinstance(value, ObjectId | uuid.UUID | Decimal128):
        return str(value)
    if isinstance(value, bytes | bytearray):  # bson's Binary is a bytes subclass
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, Regex):
        return jsonable(value.pattern)
    if isinstance(value, Timestamp):
        return aware(value.as_datetime()).isoformat()
    return jsonable(str(value))  # MinKey, MaxKey, DBRef: their text is all there is


def json_object(document: Document, field: str) -> dict[str, Any]:
    value = document.get(field)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise BadDocument(f"{field} is {type(value).__name__}, not an embedded document")
    try:
        converted: dict[str, Any] = jsonable(value)
    except BadDocument as exc:
        raise BadDocument(f"{field}: {exc}") from exc
    return converted


def epoch_seconds(value: Any, field: str) -> int:
    """Pulp 2's ``_last_updated``: whole seconds since the epoch; 0 when absent."""
    if value is None:
        return 0
    if isinstance(value, bool):
        raise BadDocument(f"{field} is a boolean, not a time")
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    if isinstance(value, datetime):
        return int(aware(value).timestamp())
    raise BadDocument(f"{field} is {type(value).__name__}, not epoch seconds")


def _flag(document: Document, field: str, default: bool) -> bool:
    value = document.get(field)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise BadDocument(f"{field} is {type(value).__name__}, not a boolean")
    return value


def _integer(document: Document, field: str, default: int) -> int:
    value = document.get(field)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadDocument(f"{field} is {type(value).__name__}, not an integer")
    if not -(2**31) <= value < 2**31:
        raise BadDocument(f"{field} is out of range: {value}")
    return int(value)


# ---------------------------------------------------------------------------------------------
# One document, one row
# ---------------------------------------------------------------------------------------------


def repository_row(document: Document) -> RepositoryRow:
    notes = document.get("notes")
    repo_type = notes.get("_repo-type") if isinstance(notes, Mapping) else None
    return RepositoryRow(
        pulp2_object_id=required_text(document, "_id"),
        pulp2_repo_id=required_text(document, "repo_id"),
        pulp2_repo_type=text(repo_type, "notes._repo-type") if repo_type is not None else None,
        content_unit_counts=json_object(document, "content_unit_counts"),
        last_unit_added=parse_timestamp(document.get("last_unit_added")),
        last_unit_removed=parse_timestamp(document.get("last_unit_removed")),
    )


def importer_row(document: Document) -> ImporterRow:
    return ImporterRow(
        pulp2_object_id=required_text(document, "_id"),
        pulp2_repo_id=required_text(document, "repo_id"),
        importer_type_id=required_text(document, "importer_type_id"),
        config=json_object(document, "config"),
        last_updated=parse_timestamp(document.get("last_updated")),
    )


def distributor_row(document: Document) -> DistributorRow:
    return DistributorRow(
        pulp2_object_id=required_text(document, "_id"),
        pulp2_repo_id=required_text(document, "repo_id"),
        distributor_id=required_text(document, "distributor_id"),
        distributor_type_id=required_text(document, "distributor_type_id"),
        config=json_object(document, "config"),
        auto_publish=_flag(document, "auto_publish", False),
        last_publish=parse_timestamp(document.get("last_publish")),
        last_updated=parse_timestamp(document.get("last_updated")),
    )


def repo_content_row(document: Document) -> RepoContentRow:
    return RepoContentRow(
        pulp2_repo_id=required_text(document, "repo_id"),
        pulp2_unit_id=required_text(document, "unit_id"),
        unit_type_id=required_text(document, "unit_type_id"),
        created=parse_timestamp(document.get("created")),
        updated=parse_timestamp(document.get("updated")),
    )


def unit_fields(document: Document, binary: Collection[str] = ()) -> dict[str, Any]:
    """The unit's own type fields: everything but ``_``-prefixed keys and Pulp 2 bookkeeping.

    A ``binary`` field's string is data of any bytes (Pulp 2 kept BSON in some), staged as
    bytes are: base64 of its UTF-8.
    """
    fields: dict[str, Any] = {}
    for key, value in document.items():
        if key.startswith("_") or key in _UNIT_BOOKKEEPING:
            continue
        if key in binary and isinstance(value, str):
            value = value.encode("utf-8", "surrogatepass")
        try:
            fields[key] = jsonable(value)
        except BadDocument as exc:
            raise BadDocument(f"{key}: {exc}") from exc
    return fields


# json.dumps' text, made by one encoder without the check for circular references (decoded
# BSON has none): a sixth less time per unit.
_FIELDS_ENCODER = json.JSONEncoder(check_circular=False)


def content_row(content_type: str, document: Document, binary: Collection[str] = ()) -> ContentRow:
    """A unit of ``content_type`` (the type its ``units_<type>`` collection names); its
    ``binary`` fields as :func:`unit_fields` says.

    ``downloaded`` absent means what Pulp 2's model default meant: true for a unit with a file
    (``_storage_path``), false for one without.
    """
    storage_path = optional_text(document, "_storage_path")
    return ContentRow(
        pulp2_id=required_text(document, "_id"),
        content_type=content_type,
        last_updated=epoch_seconds(document.get("_last_updated"), "_last_updated"),
        storage_path=storage_path,
        downloaded=_flag(document, "downloaded", storage_path is not None),
        fields=_FIELDS_ENCODER.encode(unit_fields(document, binary)),
    )


def lazy_catalog_row(document: Document) -> LazyCatalogRow:
    return LazyCatalogRow(
        pulp2_unit_id=required_text(document, "unit_id"),
        unit_type_id=required_text(document, "unit_type_id"),
        importer_id=required_text(document, "importer_id"),
        url=required_text(document, "url"),
        path=optional_text(document, "path"),
        checksum=optional_text(document, "checksum"),
        checksum_algorithm=optional_text(document, "checksum_algorithm"),
        revision=_integer(document, "revision", 0),
    )


# ---------------------------------------------------------------------------------------------
# The pass over a dump
# ---------------------------------------------------------------------------------------------


def units_collection(content_type: str) -> str:
    return f"{UNITS_PREFIX}{content_type}"


def collections_to_read(
    content_types: Collection[str], documents: Collection[str] = ()
) -> list[str]:
    """Every collection premigrate reads for units of ``content_types``, and the ``documents``
    collections (staged as units whose content type is the collection's name)."""
    return [
        REPOS,
        IMPORTERS,
        DISTRIBUTORS,
        MEMBERSHIPS,
        *(units_collection(content_type) for content_type in content_types),
        *documents,
        LAZY_CATALOG,
    ]


def dump_parts(
    available: Collection[str],
    content_types: Collection[str],
    documents: Collection[str] = (),
    *,
    max_parts: int,
) -> list[list[str]]:
    """The collections to read cut into at most ``max_parts`` parts, each read on its own.

    The repositories with their importers and distributors are one part; each other collection
    (the big ones: memberships, units, the catalog) is one, dealt round-robin when there are
    too many. Collections the dump does not hold (``available``) are left out.
    """
    wanted = [name for name in collections_to_read(content_types, documents) if name in available]
    small = [name for name in wanted if name in (REPOS, IMPORTERS, DISTRIBUTORS)]
    big = [name for name in wanted if name not in small]
    parts: list[list[str]] = [small] if small else []
    room = max_parts - len(parts)
    parts.extend([name] for name in big[:room])
    for index, name in enumerate(big[room:]):
        parts[index % max_parts].append(name)
    return parts or [wanted]


@dataclasses.dataclass(frozen=True)
class Rejected:
    """A document that became no row, and why."""

    collection: str
    document_id: str
    reason: str

    @property
    def label(self) -> str:
        return f"{self.collection}/{self.document_id}"


@dataclasses.dataclass
class StagedChunk:
    """The rows of a run of consecutive documents, by staging table."""

    repositories: list[RepositoryRow] = dataclasses.field(default_factory=list)
    importers: list[ImporterRow] = dataclasses.field(default_factory=list)
    distributors: list[DistributorRow] = dataclasses.field(default_factory=list)
    memberships: list[RepoContentRow] = dataclasses.field(default_factory=list)
    content: list[ContentRow] = dataclasses.field(default_factory=list)
    lazy_catalog: list[LazyCatalogRow] = dataclasses.field(default_factory=list)
    rejected: list[Rejected] = dataclasses.field(default_factory=list)
    documents: int = 0
    """Documents read, whether they became a row, were skipped, or were rejected."""
    size: int = 0
    """Characters of the units' fields: what makes a chunk of big units (RPM's) big."""
    skipped: int = 0
    """Memberships and catalog entries of content types premigrate does not stage."""


def _document_id(document: Document) -> str:
    value = document.get("_id")
    if isinstance(value, ObjectId | str):
        return str(value).replace("\x00", "\\x00")
    return "(no _id)" if value is None else repr(value)[:100]


class _Stager:
    """Sorts documents into a chunk's row lists; one instance per pass."""

    def __init__(
        self,
        content_types: Collection[str],
        documents: Collection[str],
        binary_fields: Mapping[str, Collection[str]],
    ) -> None:
        self._types = frozenset(content_types)
        self._binary = binary_fields
        self._units = {units_collection(t): t for t in self._types}
        self._units.update((collection, collection) for collection in documents)

    def add(self, chunk: StagedChunk, collection: str, document: Document) -> None:
        chunk.documents += 1
        try:
            self._add(chunk, collection, document)
        except BadDocument as exc:
            chunk.rejected.append(Rejected(collection, _document_id(document), str(exc)))

    def _add(self, chunk: StagedChunk, collection: str, document: Document) -> None:
        content_type = self._units.get(collection)
        if content_type is not None:
            row = content_row(content_type, document, self._binary.get(content_type, ()))
            chunk.content.append(row)
            chunk.size += len(row.fields)
        elif collection == MEMBERSHIPS:
            if document.get("unit_type_id") in self._types:
                chunk.memberships.append(repo_content_row(document))
            else:
                chunk.skipped += 1
        elif collection == LAZY_CATALOG:
            if document.get("unit_type_id") in self._types:
                chunk.lazy_catalog.append(lazy_catalog_row(document))
            else:
                chunk.skipped += 1
        elif collection == REPOS:
            chunk.repositories.append(repository_row(document))
        elif collection == IMPORTERS:
            chunk.importers.append(importer_row(document))
        elif collection == DISTRIBUTORS:
            chunk.distributors.append(distributor_row(document))


def stage_dump(
    dump: Dump,
    content_types: Collection[str],
    *,
    documents: Collection[str] = (),
    binary_fields: Mapping[str, Collection[str]] | None = None,
    chunk_documents: int = 10_000,
    chunk_size: int = 8 * 1024 * 1024,
    part: Collection[str] | None = None,
) -> Generator[StagedChunk, None, None]:
    """The staging rows of ``dump``, in chunks of at most ``chunk_documents`` documents, cut
    sooner when their units' fields reach ``chunk_size`` characters.

    ``documents`` are other collections a plugin reads (RPM's ``erratum_pkglists``): each
    document is staged as a unit whose content type is the collection's name.
    ``binary_fields`` names, per content type, the fields staged as binary (``unit_fields``).
    ``part`` (one of :func:`dump_parts`) reads only those collections; by default, all.

    One pass over the dump (``Dump.iter_documents``); blocking, so run it off the event loop.
    A :class:`~pulp2to3.pulp2.errors.DumpError` raises when the pass reaches the fault.
    """
    if chunk_documents < 1:
        raise ValueError(f"chunk_documents must be at least 1, not {chunk_documents}")
    stager = _Stager(content_types, documents, binary_fields or {})
    chunk = StagedChunk()
    names = collections_to_read(content_types, documents) if part is None else part
    for collection, document in dump.iter_documents(names):
        stager.add(chunk, collection, document)
        if chunk.documents >= chunk_documents or chunk.size >= chunk_size:
            yield chunk
            chunk = StagedChunk()
    if chunk.documents:
        yield chunk
