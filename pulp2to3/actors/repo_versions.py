"""The ``create_repo_versions`` step: a repository version for each plan version, in plan order.

Each plan version (the plan's ``repository_versions`` of a repository, at positions 1, 2, ...)
is held by a repository version with exactly the migrated content of its Pulp 2 repository;
units whose content failed to migrate are left out. In a first migration, version ``n`` holds the
plan version at position ``n``. A later migration compares each plan version with the version that
holds it (``repository_version_origin``): when its Pulp 2 repository changed (units added or
removed, content migrated since), a new version after the repository's latest holds its new
content, as a sync adds a version in Pulp 3, and publications and distributions follow it.
Membership is kept the Pulp 3 way: content added in version ``n`` has ``version_added = n``,
content gone from version ``n`` gets ``version_removed = n``.

A batch takes whole repositories (a version builds on the one before it) and creates, level by
level, the versions after each repository's latest: one set-based statement per level for all
the batch's repositories. What every plan version's Pulp 2 repository gives is computed once
(``store.step_input``), by the step before it, ``compute_version_content`` (``COMPUTE_STEP``),
which runs beside create_repositories as it needs only the content (so a second worker computes
it while the first computes create_repositories' input); a batch that finds it lost (a crash of
the server) computes it again. Plan versions whose version is up to date are left
alone, so a batch run again changes nothing. A plan version whose Pulp 2 repository is not
staged fails, with the versions after it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import asyncpg
import structlog

from pulp2to3.actors.planned import (
    chunked_batches,
    planned_repositories,
    resolve,
    version_label,
)
from pulp2to3.actors.steps import Batch, BatchResult, Migration, make_step
from pulp2to3.store import repositories as store

log = structlog.get_logger(__name__)

STEP_CODE = "create_repo_versions"
COMPUTE_STEP_CODE = "compute_version_content"
REPOSITORIES_PER_BATCH = 20


def _pulp2_repositories(migration: Migration) -> set[str]:
    """The Pulp 2 repositories of every plan version."""
    return {
        version.pulp2_repository_id
        for repository in planned_repositories(migration.plan).values()
        for version in repository.plan.versions
    }


async def prepare_input(connection: asyncpg.Connection, migration: Migration) -> None:
    """The step's input, what every plan version's Pulp 2 repository gives, computed unless it is
    this migration's already."""
    await store.prepare_version_content(
        connection, STEP_CODE, migration.id, _pulp2_repositories(migration)
    )


async def plan_compute_batches(connection: asyncpg.Connection, migration: Migration) -> list[Batch]:
    """One batch, when the plan has versions."""
    return [Batch(key="input", units=1, args={})] if _pulp2_repositories(migration) else []


async def compute_version_content(
    connection: asyncpg.Connection, migration: Migration, args: Mapping[str, Any]
) -> BatchResult:
    await prepare_input(connection, migration)
    return BatchResult(done=1)


async def plan_version_batches(connection: asyncpg.Connection, migration: Migration) -> list[Batch]:
    """Whole repositories, up to ``REPOSITORIES_PER_BATCH`` per batch; a unit is a version."""
    planned = planned_repositories(migration.plan)
    return chunked_batches(
        "versions",
        "repositories",
        list(planned),
        REPOSITORIES_PER_BATCH,
        units=lambda chunk: sum(len(planned[name].plan.versions) for name in chunk),
    )


async def create_repo_versions(
    connection: asyncpg.Connection, migration: Migration, args: Mapping[str, Any]
) -> BatchResult:
    """New versions for the plan versions of the batch's repositories that are out of date."""
    await prepare_input(connection, migration)
    wanted = resolve(migration.plan, args["repositories"])
    repositories = await store.repositories_by_name(connection, [r.name for r in wanted])
    staged = await store.staged_pulp2_repositories(
        connection, {v.pulp2_repository_id for r in wanted for v in r.plan.versions}
    )
    outdated = await store.outdated_versions(
        connection,
        [
            store.PlanVersionSource(found.id, position, version.pulp2_repository_id)
            for repository in wanted
            if (found := repositories.get(repository.name)) is not None
            for position, version in repository.numbered_versions()
        ],
    )
    levels: dict[int, list[store.NewVersion]] = defaultdict(list)
    failures: list[tuple[str, str]] = []
    up_to_date = 0
    for repository in wanted:
        found = repositories.get(repository.name)
        if found is None:
            failures.extend(
                (version_label(repository.name, position), "the repository was not created")
                for position, _ in repository.numbered_versions()
            )
            continue
        latest = number = found.latest_version or 0
        blocked_by: int | None = None  # a plan version that could not be created
        for position, version in repository.numbered_versions():
            label = version_label(repository.name, position)
            if (found.id, position) not in outdated:
                up_to_date += 1
            elif blocked_by is not None:
                failures.append((label, f"version {blocked_by} before it could not be created"))
            elif version.pulp2_repository_id not in staged:
                pulp2_repo = version.pulp2_repository_id
                failures.append((label, f"Pulp 2 repository {pulp2_repo!r} is not in the dump"))
                blocked_by = position
            else:
                number += 1
                levels[number - latest].append(
                    store.NewVersion(found.id, number, version.pulp2_repository_id, position)
                )
    created = added = removed = 0
    for level in sorted(levels):
        outcome = await store.create_versions(connection, levels[level])
        created += outcome.versions
        added += outcome.added
        removed += outcome.removed
    new_versions = [version for level in levels.values() for version in level]
    if new_versions:
        await store.set_version_origins(connection, new_versions)
    log.info(
        "repository_versions_created",
        step=STEP_CODE,
        repositories=len(wanted),
        created=created,
        up_to_date=up_to_date,
        made_by_another_copy=len(new_versions) - created,
        memberships_added=added,
        memberships_removed=removed,
        failed=len(failures),
    )
    return BatchResult(done=up_to_date + len(new_versions), failures=tuple(failures))


STEP = make_step(
    STEP_CODE,
    "Create repository versions with the content of their Pulp 2 repositories",
    create_repo_versions,
    plan_version_batches,
)


# The step's input computed ahead, beside create_repositories.
COMPUTE_STEP = make_step(
    COMPUTE_STEP_CODE,
    "Compute what each repository version holds",
    compute_version_content,
    plan_compute_batches,
)
