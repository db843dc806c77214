"""The ``create_repo_versions`` step: one repository version per plan version, in plan order.

Version ``n`` of a repository (1, 2, ...: the plan's ``repository_versions`` in list order)
holds exactly the migrated content of its Pulp 2 repository; units whose content failed to
migrate are left out. Membership is kept the Pulp 3 way: content added in version ``n`` has
``version_added = n``, content gone from version ``n`` gets ``version_removed = n``.

A batch takes whole repositories (a version builds on the one before it) and creates, level by
level, the versions after each repository's latest: one set-based statement per level for all
the batch's repositories. Versions that exist are left alone, so a batch run again changes
nothing. A plan version whose Pulp 2 repository is not staged fails, with the versions after it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import asyncpg
import structlog

from pulp2to3.actors.repositories import chunked_batches, planned_repositories, resolve
from pulp2to3.actors.steps import Batch, BatchResult, Run, Step, batch_task
from pulp2to3.store import repositories as store

log = structlog.get_logger(__name__)

STEP_CODE = "create_repo_versions"
REPOSITORIES_PER_BATCH = 20


def version_label(repository: str, number: int) -> str:
    """How a failure names a repository version."""
    return f"{repository} version {number}"


async def plan_version_batches(connection: asyncpg.Connection, run: Run) -> list[Batch]:
    """Whole repositories, up to ``REPOSITORIES_PER_BATCH`` per batch; a unit is a version."""
    planned = planned_repositories(run.plan)
    return chunked_batches(
        "versions",
        "repositories",
        list(planned),
        REPOSITORIES_PER_BATCH,
        units=lambda chunk: sum(len(planned[name].plan.versions) for name in chunk),
    )


async def create_repo_versions(
    connection: asyncpg.Connection, run: Run, args: Mapping[str, Any]
) -> BatchResult:
    """The plan versions of the batch's repositories that do not exist yet."""
    wanted = resolve(run.plan, args["repositories"])
    repositories = await store.repositories_by_name(connection, [r.name for r in wanted])
    staged = await store.staged_pulp2_repositories(
        connection, {v.pulp2_repository_id for r in wanted for v in r.plan.versions}
    )
    levels: dict[int, list[store.NewVersion]] = defaultdict(list)
    failures: list[tuple[str, str]] = []
    existing = 0
    for repository in wanted:
        versions = repository.plan.versions
        found = repositories.get(repository.name)
        if found is None:
            failures.extend(
                (version_label(repository.name, number), "the repository was not created")
                for number in range(1, len(versions) + 1)
            )
            continue
        latest = found.latest_version or 0
        for number, version in repository.numbered_versions():
            if number <= latest:
                existing += 1
                continue
            if version.pulp2_repository_id not in staged:
                failures.append(
                    (
                        version_label(repository.name, number),
                        f"Pulp 2 repository {version.pulp2_repository_id!r} is not in the dump",
                    )
                )
                failures.extend(
                    (
                        version_label(repository.name, later),
                        f"version {number} before it could not be created",
                    )
                    for later in range(number + 1, len(versions) + 1)
                )
                break
            levels[number].append(store.NewVersion(found.id, number, version.pulp2_repository_id))
    created = added = removed = 0
    for number in sorted(levels):
        outcome = await store.create_versions(connection, levels[number])
        created += outcome.versions
        added += outcome.added
        removed += outcome.removed
    planned = sum(len(level) for level in levels.values())
    log.info(
        "repository_versions_created",
        step=STEP_CODE,
        repositories=len(wanted),
        created=created,
        existing=existing + planned - created,
        memberships_added=added,
        memberships_removed=removed,
        failed=len(failures),
    )
    return BatchResult(done=existing + planned, failures=tuple(failures))


STEP = Step(
    code=STEP_CODE,
    description="Create repository versions with the content of their Pulp 2 repositories",
    task=batch_task(f"pulp2to3.{STEP_CODE}", STEP_CODE)(create_repo_versions),
    plan_batches=plan_version_batches,
)
