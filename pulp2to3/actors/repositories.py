"""The ``create_repositories`` step: Pulp 3 repositories, their remotes and remote artifacts.

Each plan repository becomes a repository (with its empty version 0, as Pulp 3 has); when the
plan names an importer, the importer becomes the repository's remote, and every lazy catalog
entry of that importer a remote artifact of the content its unit became. Batches group up to
``REPOSITORIES_PER_BATCH`` plan repositories; everything is an upsert on a name, so a batch run
again (or after a crash) leaves the same rows. The remote artifacts of every importer of the
plan are computed once, by the first batch (``store.step_input``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg
import structlog

from pulp2to3.actors.planned import (
    PlannedRepository,
    chunked_batches,
    planned_repositories,
    resolve,
)
from pulp2to3.actors.steps import Batch, BatchResult, Migration, make_step
from pulp2to3.plugins import InvalidImporter
from pulp2to3.store import repositories as store
from pulp2to3.store.progress import Created
from pulp2to3.store.tasks import ResourceKind

log = structlog.get_logger(__name__)

STEP_CODE = "create_repositories"
REPOSITORIES_PER_BATCH = 20


async def plan_repository_batches(
    connection: asyncpg.Connection, migration: Migration
) -> list[Batch]:
    """Up to ``REPOSITORIES_PER_BATCH`` plan repositories per batch; a unit is a repository."""
    names = list(planned_repositories(migration.plan))
    return chunked_batches("repos", "repositories", names, REPOSITORIES_PER_BATCH)


@dataclasses.dataclass(frozen=True)
class _Remotes:
    """What a batch's importers become."""

    rows: tuple[store.RemoteRow, ...]
    importer_of: Mapping[str, str]  # remote name -> importer object id
    importers: Mapping[str, str | None]  # importer object id -> remote name (None: no feed)
    failures: tuple[tuple[str, str], ...]


def _remotes(
    wanted: Sequence[PlannedRepository], importers: Mapping[str, store.Importer]
) -> _Remotes:
    rows: list[store.RemoteRow] = []
    importer_of: dict[str, str] = {}
    importer_remotes: dict[str, str | None] = {}
    failures: list[tuple[str, str]] = []
    for repository in wanted:
        repo_id = repository.plan.pulp2_importer_repository_id
        if repo_id is None:
            continue
        importer = importers.get(repo_id)
        if importer is None:
            failures.append((repository.name, f"Pulp 2 repository {repo_id!r} has no importer"))
            continue
        try:
            spec = repository.plugin.remote_from_importer(importer.config)
        except InvalidImporter as exc:
            failures.append((repository.name, f"importer of Pulp 2 repository {repo_id!r}: {exc}"))
            continue
        if spec is None:  # no feed: Pulp 2 had nothing to sync from, Pulp 3 gets no remote
            importer_remotes[importer.pulp2_object_id] = None
            continue
        rows.append(
            store.RemoteRow(
                name=repository.name,
                pulp_type=repository.plugin.pulp3.remote,
                url=spec.url,
                policy=spec.policy,
                options=spec.options,
            )
        )
        importer_of[repository.name] = importer.pulp2_object_id
        importer_remotes[importer.pulp2_object_id] = repository.name
    return _Remotes(tuple(rows), importer_of, importer_remotes, tuple(failures))


async def create_repositories(
    connection: asyncpg.Connection, migration: Migration, args: Mapping[str, Any]
) -> BatchResult:
    """Repositories, remotes and remote artifacts of the batch's plan repositories."""
    await store.prepare_remote_artifacts(
        connection,
        STEP_CODE,
        migration.id,
        {
            repository.plan.pulp2_importer_repository_id
            for repository in planned_repositories(migration.plan).values()
            if repository.plan.pulp2_importer_repository_id is not None
        },
    )
    wanted = resolve(migration.plan, args["repositories"])
    repositories, new_repositories = await store.ensure_repositories(
        connection, {repository.name: repository.plugin.pulp3.repository for repository in wanted}
    )
    importer_repo_ids = {
        repository.plan.pulp2_importer_repository_id
        for repository in wanted
        if repository.plan.pulp2_importer_repository_id is not None
    }
    importers = await store.importers(connection, importer_repo_ids)
    remotes = _remotes(wanted, importers)
    remote_ids: dict[str, int] = {}
    new_remotes: frozenset[str] = frozenset()
    remote_artifacts = 0
    if remotes.rows:
        remote_ids, new_remotes = await store.upsert_remotes(connection, remotes.rows)
        remote_artifacts = await store.sync_remote_artifacts(
            connection,
            [
                store.RemoteSource(remote_ids[name], importer_id)
                for name, importer_id in remotes.importer_of.items()
            ],
            created={remote_ids[name] for name in new_remotes},
        )
    await store.set_repository_remotes(
        connection, {repository.name: remote_ids.get(repository.name) for repository in wanted}
    )
    await store.mark_pulp2_importers(
        connection,
        {
            importer_id: None if name is None else remote_ids[name]
            for importer_id, name in remotes.importers.items()
        },
    )
    await store.mark_pulp2_repositories(
        connection,
        {
            version.pulp2_repository_id: repositories[repository.name].id
            for repository in wanted
            for version in repository.plan.versions
        },
    )
    log.info(
        "repositories_created",
        step=STEP_CODE,
        repositories=len(wanted),
        remotes=len(remote_ids),
        remote_artifacts=remote_artifacts,
        failed=len(remotes.failures),
    )
    created = [Created(ResourceKind.REPOSITORY, repositories[n].id) for n in new_repositories] + [
        Created(ResourceKind.REMOTE, remote_ids[n]) for n in new_remotes
    ]
    return BatchResult(
        done=len(wanted) - len(remotes.failures),
        failures=remotes.failures,
        created=tuple(sorted(created, key=lambda c: (c.kind, c.id))),
    )


STEP = make_step(
    STEP_CODE,
    "Create repositories, their remotes and remote artifacts",
    create_repositories,
    plan_repository_batches,
)
