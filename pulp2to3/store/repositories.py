"""The database side of create_repositories and create_repo_versions: set-based upserts.

Everything runs in the caller's transaction (the batch's). Rows become frozen objects here;
the actors never touch raw records. The row helpers at the top (records to dataclasses, mappings
to arrays in key order) serve ``store.publications`` too.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg

from pulp2to3.database import queries
from pulp2to3.encryption import REMOTE_SECRET_FIELDS, Keys
from pulp2to3.store import step_input

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

RowObject = TypeVar("RowObject", bound="DataclassInstance")
Key = TypeVar("Key", str, int)
Value = TypeVar("Value")


def from_record(cls: type[RowObject], row: asyncpg.Record, **computed: Any) -> RowObject:
    """The dataclass ``cls`` of ``row``: each field is the column of its name, except the fields
    ``computed`` gives."""
    names = [field.name for field in dataclasses.fields(cls) if field.name not in computed]
    return cls(**{name: row[name] for name in names}, **computed)


def in_key_order(mapping: Mapping[Key, Value]) -> tuple[list[Key], list[Value]]:
    """A mapping as parallel arrays of its keys and values, in key order: the order rows are
    written in, so that parallel batches lock them in the same order."""
    keys = sorted(mapping)
    return keys, [mapping[key] for key in keys]


def staged_config(row: asyncpg.Record) -> Mapping[str, Any]:
    """The ``config`` of a staged importer or distributor row: its JSON object, else empty."""
    config = row["config"]
    return config if isinstance(config, dict) else {}


@dataclasses.dataclass(frozen=True)
class RepositoryRow:
    id: int
    name: str
    remote_id: int | None
    latest_version: int | None  # None: not even version 0 (never, once the step ran)


@dataclasses.dataclass(frozen=True)
class Importer:
    pulp2_object_id: str
    pulp2_repo_id: str
    config: Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class RemoteRow:
    """A remote to upsert, by name."""

    name: str
    pulp_type: str
    url: str
    policy: str
    options: Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class RemoteSource:
    """A remote and the importer whose lazy catalog gives its remote artifacts."""

    remote_id: int
    importer_object_id: str


@dataclasses.dataclass(frozen=True)
class NewVersion:
    """A repository version to create: ``number`` holds Pulp 2 repository ``pulp2_repo_id``,
    for the plan version at ``position``."""

    repository_id: int
    number: int
    pulp2_repo_id: str
    position: int


@dataclasses.dataclass(frozen=True)
class PlanVersionSource:
    """Plan version ``position`` of a repository, and the Pulp 2 repository it holds."""

    repository_id: int
    position: int
    pulp2_repo_id: str


async def ensure_repositories(
    connection: asyncpg.Connection, repositories: Mapping[str, str]
) -> tuple[dict[str, RepositoryRow], frozenset[str]]:
    """The repositories ``{name: pulp_type}``, each with version 0, created when missing; and
    the names of those created."""
    names, pulp_types = in_key_order(repositories)
    created = await connection.fetch(queries["repositories_insert"], names, pulp_types)
    await connection.execute(queries["repositories_insert_version_zero"], names)
    return (
        await repositories_by_name(connection, names),
        frozenset(row["name"] for row in created),
    )


async def repositories_by_name(
    connection: asyncpg.Connection, names: Collection[str]
) -> dict[str, RepositoryRow]:
    rows = await connection.fetch(queries["repositories_by_name"], sorted(names))
    return {row["name"]: from_record(RepositoryRow, row) for row in rows}


async def importers(
    connection: asyncpg.Connection, pulp2_repo_ids: Collection[str]
) -> dict[str, Importer]:
    """The staged importers of these Pulp 2 repositories, by repo id."""
    rows = await connection.fetch(queries["repositories_importers"], sorted(pulp2_repo_ids))
    return {
        row["pulp2_repo_id"]: from_record(Importer, row, config=staged_config(row)) for row in rows
    }


async def upsert_remotes(
    connection: asyncpg.Connection, remotes: Sequence[RemoteRow]
) -> tuple[dict[str, int], frozenset[str]]:
    """Create or update the remotes; their ids by name, and the names of those this transaction
    created. Written in name order, so that copies of a batch lock them in the same order."""
    ordered = sorted(remotes, key=lambda remote: remote.name)
    columns = (
        [remote.name for remote in ordered],
        [remote.pulp_type for remote in ordered],
        [remote.url for remote in ordered],
        [remote.policy for remote in ordered],
        [json.dumps(dict(remote.options), sort_keys=True) for remote in ordered],
    )
    created = await connection.fetch(queries["repositories_insert_remotes"], *columns)
    await connection.execute(queries["repositories_update_remotes"], *columns)
    rows = await connection.fetch(queries["repositories_remotes_by_name"], columns[0])
    return {row["name"]: row["id"] for row in rows}, frozenset(row["name"] for row in created)


async def remote_options_in_clear(
    connection: asyncpg.Connection, name: str, keys: Keys
) -> dict[str, Any] | None:
    """The options of remote ``name`` with its secrets decrypted (what a download would use);
    None if there is no such remote."""
    options = await connection.fetchval(queries["repositories_remote_options"], name)
    if options is None:
        return None
    return keys.unseal(options, REMOTE_SECRET_FIELDS)


async def set_repository_remotes(
    connection: asyncpg.Connection, remotes: Mapping[str, int | None]
) -> None:
    """Tie each repository (by name) to its remote, or to none."""
    await connection.execute(queries["repositories_set_remotes"], *in_key_order(remotes))


async def prepare_remote_artifacts(
    connection: asyncpg.Connection,
    step_code: str,
    migration_id: uuid.UUID,
    importer_repo_ids: Collection[str],
) -> None:
    """The step's input (``store.step_input``): the remote artifacts the lazy catalogs of the
    importers of these Pulp 2 repositories (every one the migration's plan names) give."""

    ordered = sorted(importer_repo_ids)

    async def compute() -> None:
        await connection.execute(queries["repositories_clear_remote_artifact_input"])
        await connection.execute(queries["repositories_compute_remote_artifact_input"], ordered)

    await step_input.ensure(connection, step_code, migration_id, ordered, compute)


async def sync_remote_artifacts(
    connection: asyncpg.Connection, sources: Sequence[RemoteSource], *, created: Collection[int]
) -> int:
    """The remote artifacts of each remote from its importer's lazy catalog; how many written.
    Reads ``prepare_remote_artifacts``' input, which must cover these importers.

    The remotes in ``created`` were made by this transaction: they have none yet, and theirs
    are inserted without looking for conflicts. The others (made before: by an earlier
    migration, or by a copy of this batch that committed first) are upserted, and lose the
    remote artifacts their catalog no longer gives.
    """
    ordered = sorted(sources, key=lambda source: source.remote_id)
    new = [source for source in ordered if source.remote_id in created]
    old = [source for source in ordered if source.remote_id not in created]
    written = 0
    if old:
        columns = _source_columns(old)
        await connection.execute(queries["repositories_delete_stale_remote_artifacts"], *columns)
        status = await connection.execute(queries["repositories_upsert_remote_artifacts"], *columns)
        written += _affected(status)
    if new:
        status = await connection.execute(
            queries["repositories_insert_remote_artifacts"], *_source_columns(new)
        )
        written += _affected(status)
    return written


def _source_columns(sources: Sequence[RemoteSource]) -> tuple[list[str], list[int]]:
    """The importers and the remotes of ``sources``, as the statements' two arrays."""
    return [s.importer_object_id for s in sources], [s.remote_id for s in sources]


async def mark_pulp2_repositories(
    connection: asyncpg.Connection, mapping: Mapping[str, int]
) -> None:
    """Record which Pulp 3 repository each Pulp 2 repository (by repo id) feeds."""
    await connection.execute(
        queries["repositories_mark_pulp2_repositories"], *in_key_order(mapping)
    )


async def mark_pulp2_importers(
    connection: asyncpg.Connection, mapping: Mapping[str, int | None]
) -> None:
    """Record which remote each Pulp 2 importer (by object id) became (None: no feed)."""
    await connection.execute(queries["repositories_mark_pulp2_importers"], *in_key_order(mapping))


async def staged_pulp2_repositories(
    connection: asyncpg.Connection, pulp2_repo_ids: Collection[str]
) -> frozenset[str]:
    """Which of these Pulp 2 repositories premigrate staged."""
    rows = await connection.fetch(
        queries["repo_versions_existing_pulp2_repositories"], sorted(pulp2_repo_ids)
    )
    return frozenset(row["pulp2_repo_id"] for row in rows)


async def prepare_version_content(
    connection: asyncpg.Connection,
    step_code: str,
    migration_id: uuid.UUID,
    pulp2_repo_ids: Collection[str],
) -> None:
    """The step's input (``store.step_input``): what a version made from each of these Pulp 2
    repositories (every one the migration's plan names) holds."""

    ordered = sorted(pulp2_repo_ids)

    async def compute() -> None:
        await connection.execute(queries["repo_versions_clear_version_content_input"])
        await connection.execute(queries["repo_versions_compute_version_content_input"], ordered)

    await step_input.ensure(connection, step_code, migration_id, ordered, compute)


async def outdated_versions(
    connection: asyncpg.Connection, sources: Collection[PlanVersionSource]
) -> frozenset[tuple[int, int]]:
    """``(repository id, position)`` of the plan versions that need a new repository version:
    none holds them yet, or the one that does differs from their Pulp 2 repository now (as
    ``prepare_version_content``' input, which must cover them, gives it)."""
    ordered = sorted(sources, key=lambda source: (source.repository_id, source.position))
    rows = await connection.fetch(
        queries["repo_versions_outdated"],
        [source.repository_id for source in ordered],
        [source.position for source in ordered],
        [source.pulp2_repo_id for source in ordered],
    )
    return frozenset((row["repository_id"], row["position"]) for row in rows)


async def set_version_origins(
    connection: asyncpg.Connection, versions: Collection[NewVersion]
) -> None:
    """Record that each new version holds its plan version now."""
    ordered = sorted(versions, key=lambda version: (version.repository_id, version.position))
    await connection.execute(
        queries["repo_versions_set_origins"],
        [version.repository_id for version in ordered],
        [version.position for version in ordered],
        [version.pulp2_repo_id for version in ordered],
        [version.number for version in ordered],
    )


@dataclasses.dataclass(frozen=True)
class VersionsCreated:
    versions: int
    added: int
    removed: int


async def create_versions(
    connection: asyncpg.Connection, versions: Sequence[NewVersion]
) -> VersionsCreated:
    """Create these versions (at most one per repository) with their memberships, their
    content read from ``prepare_version_content``' input, which must cover them.

    A version that exists already is left alone; returns what was created.
    """
    ordered = sorted(versions, key=lambda version: version.repository_id)
    rows = await connection.fetch(
        queries["repo_versions_create"],
        [version.repository_id for version in ordered],
        [version.number for version in ordered],
        [version.pulp2_repo_id for version in ordered],
    )
    if not rows:
        return VersionsCreated(versions=0, added=0, removed=0)
    return VersionsCreated(versions=len(rows), added=rows[0]["added"], removed=rows[0]["removed"])


def _affected(status: str) -> int:
    """The row count of a command status such as ``INSERT 0 12``."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0
