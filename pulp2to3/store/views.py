"""Reads behind the read-only views (what was migrated) and the content app.

Rows become frozen objects here; HTTP builds hrefs from the UUIDs they carry. A list is read
in one read-only snapshot (its count and its page agree), with one statement per page.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import asyncpg
from asyncpg.transaction import Transaction

from pulp2to3.database import queries

T = TypeVar("T")
Page = tuple[int, list[T]]


def _snapshot(connection: asyncpg.Connection) -> Transaction:
    return connection.transaction(isolation="repeatable_read", readonly=True)


# --- Pulp 3 objects ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Repository:
    pulp_id: uuid.UUID
    created_at: datetime.datetime
    pulp_type: str
    name: str
    description: str | None
    remote_pulp_id: uuid.UUID | None
    latest_version: int | None

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Repository:
        return cls(
            pulp_id=row["pulp_id"],
            created_at=row["created_at"],
            pulp_type=row["pulp_type"],
            name=row["name"],
            description=row["description"],
            remote_pulp_id=row["remote_pulp_id"],
            latest_version=row["latest_version"],
        )


async def list_repositories(
    connection: asyncpg.Connection, limit: int, offset: int
) -> Page[Repository]:
    async with _snapshot(connection):
        count: int = await connection.fetchval(queries["view_count_repositories"])
        rows = await connection.fetch(queries["view_list_repositories"], limit, offset)
    return count, [Repository.from_row(row) for row in rows]


async def get_repository(connection: asyncpg.Connection, pulp_id: uuid.UUID) -> Repository | None:
    row = await connection.fetchrow(queries["view_get_repository"], pulp_id)
    return None if row is None else Repository.from_row(row)


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


async def list_repository_versions(
    connection: asyncpg.Connection, repository_pulp_id: uuid.UUID, limit: int, offset: int
) -> Page[RepositoryVersion] | None:
    """A page of a repository's versions, newest first; None if there is no such repository."""
    async with _snapshot(connection):
        count: int | None = await connection.fetchval(
            queries["view_count_repository_versions"], repository_pulp_id
        )
        if count is None:
            return None
        rows = await connection.fetch(
            queries["view_list_repository_versions"], repository_pulp_id, limit, offset
        )
        summaries = await _summaries(connection, [row["id"] for row in rows])
    return count, [
        RepositoryVersion.from_row(row, summaries.get(row["id"], EMPTY_SUMMARY)) for row in rows
    ]


async def get_repository_version(
    connection: asyncpg.Connection, repository_pulp_id: uuid.UUID, number: int
) -> RepositoryVersion | None:
    async with _snapshot(connection):
        row = await connection.fetchrow(
            queries["view_get_repository_version"], repository_pulp_id, number
        )
        if row is None:
            return None
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
    async with _snapshot(connection):
        count: int = await connection.fetchval(queries["view_count_publications"])
        rows = await connection.fetch(queries["view_list_publications"], limit, offset)
    return count, [Publication.from_row(row) for row in rows]


async def get_publication(connection: asyncpg.Connection, pulp_id: uuid.UUID) -> Publication | None:
    row = await connection.fetchrow(queries["view_get_publication"], pulp_id)
    return None if row is None else Publication.from_row(row)


@dataclasses.dataclass(frozen=True)
class Distribution:
    pulp_id: uuid.UUID
    created_at: datetime.datetime
    pulp_type: str
    name: str
    base_path: str
    publication_pulp_id: uuid.UUID | None

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Distribution:
        return cls(
            pulp_id=row["pulp_id"],
            created_at=row["created_at"],
            pulp_type=row["pulp_type"],
            name=row["name"],
            base_path=row["base_path"],
            publication_pulp_id=row["publication_pulp_id"],
        )


async def list_distributions(
    connection: asyncpg.Connection, limit: int, offset: int
) -> Page[Distribution]:
    async with _snapshot(connection):
        count: int = await connection.fetchval(queries["view_count_distributions"])
        rows = await connection.fetch(queries["view_list_distributions"], limit, offset)
    return count, [Distribution.from_row(row) for row in rows]


async def get_distribution(
    connection: asyncpg.Connection, pulp_id: uuid.UUID
) -> Distribution | None:
    row = await connection.fetchrow(queries["view_get_distribution"], pulp_id)
    return None if row is None else Distribution.from_row(row)


@dataclasses.dataclass(frozen=True)
class Remote:
    pulp_id: uuid.UUID
    created_at: datetime.datetime
    pulp_type: str
    name: str
    url: str
    policy: str
    options: Mapping[str, Any]

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Remote:
        return cls(
            pulp_id=row["pulp_id"],
            created_at=row["created_at"],
            pulp_type=row["pulp_type"],
            name=row["name"],
            url=row["url"],
            policy=row["policy"],
            options=row["options"],
        )


async def list_remotes(connection: asyncpg.Connection, limit: int, offset: int) -> Page[Remote]:
    async with _snapshot(connection):
        count: int = await connection.fetchval(queries["view_count_remotes"])
        rows = await connection.fetch(queries["view_list_remotes"], limit, offset)
    return count, [Remote.from_row(row) for row in rows]


async def get_remote(connection: asyncpg.Connection, pulp_id: uuid.UUID) -> Remote | None:
    row = await connection.fetchrow(queries["view_get_remote"], pulp_id)
    return None if row is None else Remote.from_row(row)


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
    async with _snapshot(connection):
        if version is None:
            count: int = await connection.fetchval(queries["view_count_content"], pulp_type)
            rows = await connection.fetch(queries["view_list_content"], pulp_type, limit, offset)
        else:
            found = await connection.fetchrow(
                queries["view_find_repository_version"],
                version.repository_pulp_id,
                version.number,
            )
            if found is None:
                raise UnknownVersion
            where = (found["repository_id"], found["number"], version.membership.value, pulp_type)
            count = await connection.fetchval(queries["view_count_version_content"], *where)
            rows = await connection.fetch(
                queries["view_list_version_content"], *where, limit, offset
            )
    return count, [Content.from_row(row) for row in rows]


async def get_content(connection: asyncpg.Connection, pulp_id: uuid.UUID) -> Content | None:
    row = await connection.fetchrow(queries["view_get_content"], pulp_id)
    return None if row is None else Content.from_row(row)


# --- The Pulp 2 mapping -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Pulp2Filter:
    is_migrated: bool | None = None
    not_in_plan: bool | None = None
    pulp2_id: str | None = None


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
    # The version the first of its distributors published, with that publication.
    published_version: tuple[uuid.UUID, int] | None
    publication_pulp_id: uuid.UUID | None
    distribution_pulp_ids: tuple[uuid.UUID, ...]

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Pulp2Repository:
        published = None
        if row["published_repository_pulp_id"] is not None:
            published = (row["published_repository_pulp_id"], row["published_version_number"])
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
            published_version=published,
            publication_pulp_id=row["publication_pulp_id"],
            distribution_pulp_ids=tuple(row["distribution_pulp_ids"]),
        )


async def list_pulp2_repositories(
    connection: asyncpg.Connection, where: Pulp2Filter, limit: int, offset: int
) -> Page[Pulp2Repository]:
    filters = (where.is_migrated, where.not_in_plan, where.pulp2_id)
    async with _snapshot(connection):
        count: int = await connection.fetchval(queries["view_count_pulp2_repositories"], *filters)
        rows = await connection.fetch(
            queries["view_list_pulp2_repositories"], *filters, None, limit, offset
        )
    return count, [Pulp2Repository.from_row(row) for row in rows]


async def get_pulp2_repository(
    connection: asyncpg.Connection, pulp_id: uuid.UUID
) -> Pulp2Repository | None:
    row = await connection.fetchrow(
        queries["view_list_pulp2_repositories"], None, None, None, pulp_id, 1, 0
    )
    return None if row is None else Pulp2Repository.from_row(row)


@dataclasses.dataclass(frozen=True)
class Pulp2Content:
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

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Pulp2Content:
        return cls(
            pulp_id=row["pulp_id"],
            created_at=row["created_at"],
            pulp2_id=row["pulp2_id"],
            content_type=row["content_type"],
            last_updated=row["last_updated"],
            storage_path=row["storage_path"],
            downloaded=row["downloaded"],
            is_migrated=row["is_migrated"],
            not_in_plan=row["not_in_plan"],
            content_pulp_id=row["content_pulp_id"],
        )


async def list_pulp2_content(
    connection: asyncpg.Connection,
    where: Pulp2Filter,
    content_type: str | None,
    limit: int,
    offset: int,
) -> Page[Pulp2Content]:
    filters = (where.is_migrated, where.not_in_plan, where.pulp2_id, content_type)
    async with _snapshot(connection):
        count: int = await connection.fetchval(queries["view_count_pulp2_content"], *filters)
        rows = await connection.fetch(
            queries["view_list_pulp2_content"], *filters, None, limit, offset
        )
    return count, [Pulp2Content.from_row(row) for row in rows]


async def get_pulp2_content(
    connection: asyncpg.Connection, pulp_id: uuid.UUID
) -> Pulp2Content | None:
    row = await connection.fetchrow(
        queries["view_list_pulp2_content"], None, None, None, None, pulp_id, 1, 0
    )
    return None if row is None else Pulp2Content.from_row(row)


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
