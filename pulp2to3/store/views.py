"""Reads behind the read-only views (what was migrated) and the content app.

Rows become frozen objects here; HTTP builds hrefs from the UUIDs they carry. A list is read
in one read-only snapshot: its count, the keys of its page and their rows agree.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

import asyncpg
from asyncpg.transaction import Transaction

from pulp2to3.database import queries

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T")
Page = tuple[int, list[T]]


class FromColumns:
    """A dataclass read from a row whose columns are named as its fields."""

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Self:
        fields = dataclasses.fields(cast("type[DataclassInstance]", cls))
        return cls(**{field.name: row[field.name] for field in fields})


def snapshot(connection: asyncpg.Connection) -> Transaction:
    return connection.transaction(isolation="repeatable_read", readonly=True)


@dataclasses.dataclass(frozen=True)
class ListQueries:
    """The named queries of a list: ``count`` takes its filters and counts the rows they match;
    ``page`` takes the filters, the limit and the offset and gives the keys of one page, in
    order; ``get`` takes an array of keys and gives their rows in that order. A detail reads its
    one key with the same ``get``, so an object shows the same in both."""

    count: str
    page: str
    get: str


def view_queries(stem: str) -> ListQueries:
    """The queries of the list of ``stem`` (``view_count_<stem>``, ...)."""
    return ListQueries(f"view_count_{stem}", f"view_page_{stem}", f"view_get_{stem}")


async def get_rows(
    connection: asyncpg.Connection, get_query: str, keys: Sequence[Any]
) -> list[asyncpg.Record]:
    if not keys:
        return []
    rows: list[asyncpg.Record] = await connection.fetch(queries[get_query], list(keys))
    return rows


async def count_and_rows(
    connection: asyncpg.Connection,
    queries_of: ListQueries,
    filters: Sequence[Any],
    limit: int,
    offset: int,
) -> tuple[int, list[asyncpg.Record]]:
    """How many rows match ``filters``, and one page of them (in a ``snapshot``, so that the
    three queries agree)."""
    count: int = await connection.fetchval(queries[queries_of.count], *filters)
    page = await connection.fetch(queries[queries_of.page], *filters, limit, offset)
    return count, await get_rows(connection, queries_of.get, [row[0] for row in page])


async def read_page(
    connection: asyncpg.Connection,
    queries_of: ListQueries,
    filters: Sequence[Any],
    limit: int,
    offset: int,
    make: Callable[[asyncpg.Record], T],
) -> Page[T]:
    """A page of objects, read in one snapshot."""
    async with snapshot(connection):
        count, rows = await count_and_rows(connection, queries_of, filters, limit, offset)
    return count, [make(row) for row in rows]


async def read_one(
    connection: asyncpg.Connection,
    get_query: str,
    key: Any,
    make: Callable[[asyncpg.Record], T],
) -> T | None:
    """The object of ``key``, as its list shows it."""
    rows = await get_rows(connection, get_query, [key])
    return make(rows[0]) if rows else None


# --- Pulp 3 objects ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Repository(FromColumns):
    pulp_id: uuid.UUID
    created_at: datetime.datetime
    pulp_type: str
    name: str
    description: str | None
    remote_pulp_id: uuid.UUID | None
    latest_version: int | None


async def list_repositories(
    connection: asyncpg.Connection, limit: int, offset: int
) -> Page[Repository]:
    return await read_page(
        connection,
        view_queries("repositories"),
        (),
        limit,
        offset,
        Repository.from_row,
    )


async def get_repository(connection: asyncpg.Connection, pulp_id: uuid.UUID) -> Repository | None:
    return await read_one(connection, "view_get_repositories", pulp_id, Repository.from_row)


@dataclasses.dataclass(frozen=True)
class ContentSummary:
    """Unit counts per pulp_type: added in a version, removed in it, present in it."""

    added: Mapping[str, int]
    removed: Mapping[str, int]
    present: Mapping[str, int]


EMPTY_SUMMARY = ContentSummary(added={}, removed={}, present={})


@dataclasses.dataclass(frozen=True)
class RepositoryVersion:
    pulp_id: uuid.UUID
    created_at: datetime.datetime
    number: int
    repository_pulp_id: uuid.UUID
    content_summary: ContentSummary

    @classmethod
    def from_row(cls, row: asyncpg.Record, summary: ContentSummary) -> RepositoryVersion:
        return cls(
            pulp_id=row["pulp_id"],
            created_at=row["created_at"],
            number=row["number"],
            repository_pulp_id=row["repository_pulp_id"],
            content_summary=summary,
        )


async def _summaries(
    connection: asyncpg.Connection, version_ids: Sequence[int]
) -> dict[int, ContentSummary]:
    """The content summaries of some versions, in one statement."""
    counts: dict[int, dict[str, dict[str, int]]] = {}
    for row in await connection.fetch(queries["view_content_summaries"], list(version_ids)):
        by_kind = counts.setdefault(row["version_id"], {"added": {}, "removed": {}, "present": {}})
        for kind, per_type in by_kind.items():
            if row[kind]:
                per_type[row["pulp_type"]] = row[kind]
    return {version_id: ContentSummary(**kinds) for version_id, kinds in counts.items()}


async def _versions(
    connection: asyncpg.Connection, repository_pulp_id: uuid.UUID, numbers: Sequence[int]
) -> list[asyncpg.Record]:
    """The versions of these numbers of a repository, newest first."""
    rows: list[asyncpg.Record] = await connection.fetch(
        queries["view_get_repository_versions"], repository_pulp_id, list(numbers)
    )
    return rows


async def list_repository_versions(
    connection: asyncpg.Connection, repository_pulp_id: uuid.UUID, limit: int, offset: int
) -> Page[RepositoryVersion] | None:
    """A page of a repository's versions, newest first; None if there is no such repository."""
    async with snapshot(connection):
        count: int | None = await connection.fetchval(
            queries["view_count_repository_versions"], repository_pulp_id
        )
        if count is None:
            return None
        page = await connection.fetch(
            queries["view_page_repository_versions"], repository_pulp_id, limit, offset
        )
        rows = await _versions(connection, repository_pulp_id, [row["number"] for row in page])
        summaries = await _summaries(connection, [row["id"] for row in rows])
    return count, [
        RepositoryVersion.from_row(row, summaries.get(row["id"], EMPTY_SUMMARY)) for row in rows
    ]


async def get_repository_version(
    connection: asyncpg.Connection, repository_pulp_id: uuid.UUID, number: int
) -> RepositoryVersion | None:
    async with snapshot(connection):
        rows = await _versions(connection, repository_pulp_id, [number])
        if not rows:
            return None
        row = rows[0]
        summaries = await _summaries(connection, [row["id"]])
    return RepositoryVersion.from_row(row, summaries.get(row["id"], EMPTY_SUMMARY))


@dataclasses.dataclass(frozen=True)
class Publication:
    pulp_id: uuid.UUID
    created_at: datetime.datetime
    pulp_type: str
    repository_pulp_id: uuid.UUID
    version_number: int
    distribution_pulp_ids: tuple[uuid.UUID, ...]

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Publication:
        return cls(
            pulp_id=row["pulp_id"],
            created_at=row["created_at"],
            pulp_type=row["pulp_type"],
            repository_pulp_id=row["repository_pulp_id"],
            version_number=row["version_number"],
            distribution_pulp_ids=tuple(row["distribution_pulp_ids"]),
        )


async def list_publications(
    connection: asyncpg.Connection, limit: int, offset: int
) -> Page[Publication]:
    return await read_page(
        connection,
        view_queries("publications"),
        (),
        limit,
        offset,
        Publication.from_row,
    )


async def get_publication(connection: asyncpg.Connection, pulp_id: uuid.UUID) -> Publication | None:
    return await read_one(connection, "view_get_publications", pulp_id, Publication.from_row)


@dataclasses.dataclass(frozen=True)
class Distribution(FromColumns):
    pulp_id: uuid.UUID
    created_at: datetime.datetime
    pulp_type: str
    name: str
    base_path: str
    publication_pulp_id: uuid.UUID | None


async def list_distributions(
    connection: asyncpg.Connection, limit: int, offset: int
) -> Page[Distribution]:
    return await read_page(
        connection,
        view_queries("distributions"),
        (),
        limit,
        offset,
        Distribution.from_row,
    )


async def get_distribution(
    connection: asyncpg.Connection, pulp_id: uuid.UUID
) -> Distribution | None:
    return await read_one(connection, "view_get_distributions", pulp_id, Distribution.from_row)


@dataclasses.dataclass(frozen=True)
class Remote(FromColumns):
    pulp_id: uuid.UUID
    created_at: datetime.datetime
    pulp_type: str
    name: str
    url: str
    policy: str
    options: Mapping[str, Any]


async def list_remotes(connection: asyncpg.Connection, limit: int, offset: int) -> Page[Remote]:
    return await read_page(
        connection,
        view_queries("remotes"),
        (),
        limit,
        offset,
        Remote.from_row,
    )


async def get_remote(connection: asyncpg.Connection, pulp_id: uuid.UUID) -> Remote | None:
    return await read_one(connection, "view_get_remotes", pulp_id, Remote.from_row)


@dataclasses.dataclass(frozen=True)
class FileFields:
    relative_path: str
    sha256: str
    size: int


@dataclasses.dataclass(frozen=True)
class Content:
    pulp_id: uuid.UUID
    created_at: datetime.datetime
    pulp_type: str
    natural_key: str
    file: FileFields | None

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Content:
        file = None
        if row["relative_path"] is not None:
            file = FileFields(
                relative_path=row["relative_path"], sha256=row["digest"], size=row["size"]
            )
        return cls(
            pulp_id=row["pulp_id"],
            created_at=row["created_at"],
            pulp_type=row["pulp_type"],
            natural_key=row["natural_key"],
            file=file,
        )


class Membership(enum.StrEnum):
    """Which units of a repository version a content list shows."""

    PRESENT = "present"
    ADDED = "added"
    REMOVED = "removed"


@dataclasses.dataclass(frozen=True)
class VersionFilter:
    repository_pulp_id: uuid.UUID
    number: int
    membership: Membership = Membership.PRESENT


class UnknownVersion(Exception):
    """The repository version a content filter names does not exist."""


async def list_content(
    connection: asyncpg.Connection,
    *,
    pulp_type: str | None,
    version: VersionFilter | None,
    limit: int,
    offset: int,
) -> Page[Content]:
    """A page of content, all of it or that of a repository version (``UnknownVersion``)."""
    async with snapshot(connection):
        if version is None:
            count, rows = await count_and_rows(
                connection,
                view_queries("content"),
                (pulp_type,),
                limit,
                offset,
            )
        else:
            found = await connection.fetchrow(
                queries["view_find_repository_version"], version.repository_pulp_id, version.number
            )
            if found is None:
                raise UnknownVersion
            count, rows = await count_and_rows(
                connection,
                ListQueries(
                    "view_count_version_content", "view_page_version_content", "view_get_content"
                ),
                (found["repository_id"], found["number"], version.membership.value, pulp_type),
                limit,
                offset,
            )
    return count, [Content.from_row(row) for row in rows]


async def get_content(connection: asyncpg.Connection, pulp_id: uuid.UUID) -> Content | None:
    return await read_one(connection, "view_get_content", pulp_id, Content.from_row)


# --- The Pulp 2 mapping -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Pulp2Repository:
    pulp_id: uuid.UUID
    created_at: datetime.datetime
    pulp2_object_id: str
    pulp2_repo_id: str
    pulp2_repo_type: str | None
    is_migrated: bool
    not_in_plan: bool
    repository_pulp_id: uuid.UUID | None
    remote_pulp_id: uuid.UUID | None
    # The newest repository version that holds its content (repository pulp_id, number).
    version: tuple[uuid.UUID, int] | None
    # What the first of its distributors publishes.
    publication_pulp_id: uuid.UUID | None
    distribution_pulp_ids: tuple[uuid.UUID, ...]

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Pulp2Repository:
        version = None
        if row["version_repository_pulp_id"] is not None:
            version = (row["version_repository_pulp_id"], row["version_number"])
        return cls(
            pulp_id=row["pulp_id"],
            created_at=row["created_at"],
            pulp2_object_id=row["pulp2_object_id"],
            pulp2_repo_id=row["pulp2_repo_id"],
            pulp2_repo_type=row["pulp2_repo_type"],
            is_migrated=row["is_migrated"],
            not_in_plan=row["not_in_plan"],
            repository_pulp_id=row["repository_pulp_id"],
            remote_pulp_id=row["remote_pulp_id"],
            version=version,
            publication_pulp_id=row["publication_pulp_id"],
            distribution_pulp_ids=tuple(row["distribution_pulp_ids"]),
        )


async def get_pulp2_repository(
    connection: asyncpg.Connection, pulp_id: uuid.UUID
) -> Pulp2Repository | None:
    return await read_one(
        connection, "view_get_pulp2_repositories", pulp_id, Pulp2Repository.from_row
    )


@dataclasses.dataclass(frozen=True)
class Pulp2Content(FromColumns):
    pulp_id: uuid.UUID
    created_at: datetime.datetime
    pulp2_id: str
    content_type: str
    last_updated: int
    storage_path: str | None
    downloaded: bool
    is_migrated: bool
    not_in_plan: bool
    content_pulp_id: uuid.UUID | None


async def get_pulp2_content(
    connection: asyncpg.Connection, pulp_id: uuid.UUID
) -> Pulp2Content | None:
    return await read_one(connection, "view_get_pulp2_content", pulp_id, Pulp2Content.from_row)


# --- The content app --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ServedDistribution:
    base_path: str
    publication_id: int | None


async def find_distribution(
    connection: asyncpg.Connection, candidates: Sequence[str]
) -> ServedDistribution | None:
    """The distribution whose base path is the longest of ``candidates``."""
    row = await connection.fetchrow(queries["content_app_distribution"], list(candidates))
    if row is None:
        return None
    return ServedDistribution(base_path=row["base_path"], publication_id=row["publication_id"])


async def base_paths_under(connection: asyncpg.Connection, prefix: str) -> list[str]:
    """Base paths that start with ``prefix`` ('' for all), sorted."""
    rows = await connection.fetch(queries["content_app_base_paths_under"], prefix)
    return [row["base_path"] for row in rows]


@dataclasses.dataclass(frozen=True)
class PublishedFile:
    """A served file: its artifact (path under the media root), or only a remote URL."""

    file: str | None
    sha256: str | None
    remote_url: str | None


async def published_file(
    connection: asyncpg.Connection, publication_id: int, relative_path: str
) -> PublishedFile | None:
    row = await connection.fetchrow(
        queries["content_app_published_file"], publication_id, relative_path
    )
    if row is None:
        return None
    return PublishedFile(file=row["file"], sha256=row["sha256"], remote_url=row["remote_url"])


@dataclasses.dataclass(frozen=True)
class FolderEntry:
    name: str
    is_folder: bool


async def published_under(
    connection: asyncpg.Connection, publication_id: int, folder: str
) -> list[FolderEntry]:
    """Names directly under ``folder`` ('' or ending in '/') of what a publication serves."""
    rows = await connection.fetch(queries["content_app_published_under"], publication_id, folder)
    return [FolderEntry(name=row["name"], is_folder=row["is_folder"]) for row in rows]
