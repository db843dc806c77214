"""The ``create_publications`` step: publish each plan version that has distributors.

A plan version listing ``pulp2_distributor_repository_ids`` gets one publication of its
plugin's publication type, which the plugin fills (``Plugin.publish``) with the options the
configs of those repositories' distributors give (``Plugin.publication_options``). A version is
published once (a unique index decides): a batch run again finds its publications and changes
nothing. The distributors of the listed Pulp 2 repositories are recorded as publishing it.
The files of the versions whose plugin publishes them with ``publish_version_files`` are
computed once (``store.step_input``), in parts, one per live worker (``MAX_INPUT_PARTS`` at
most): the versions whose id is ``k`` modulo the parts are part ``k``. Batches are planned by
part, the parts' batches taking turns in the queue, so the first batch of each part computes it,
at the same time as the others (one batch computed it all while the other workers waited).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg
import structlog

from pulp2to3.actors.planned import (
    PlannedRepository,
    chunked,
    planned_repositories,
    published_versions,
    version_label,
)
from pulp2to3.actors.steps import Batch, BatchResult, Migration, make_step, one_per_live_worker
from pulp2to3.plan import RepositoryPlan
from pulp2to3.plugins import NewPublication, Plugin
from pulp2to3.store import publications as store
from pulp2to3.store.progress import Created
from pulp2to3.store.tasks import ResourceKind

log = structlog.get_logger(__name__)

STEP_CODE = "create_publications"
PUBLICATIONS_PER_BATCH = 20
# The input's parts: one per live worker, up to this many (each part's statement hashes the
# whole content artifact and file tables: a part more than workers costs that for nothing).
MAX_INPUT_PARTS = 4


def planned_publications(migration: Migration) -> list[tuple[str, int]]:
    """``(repository name, version number)`` of every plan version that lists distributors."""
    return [
        (repository.name, number)
        for repository, number, _ in published_versions(planned_repositories(migration.plan))
    ]


async def plan_publication_batches(
    connection: asyncpg.Connection, migration: Migration
) -> list[Batch]:
    """Up to ``PUBLICATIONS_PER_BATCH`` versions of one part of the input per batch, the parts'
    batches taking turns; a unit is a publication."""
    parts = await one_per_live_worker(connection, MAX_INPUT_PARTS)
    keys = planned_publications(migration)
    versions = await store.planned_versions(connection, keys)
    by_part: list[list[list[Any]]] = [[] for _ in range(parts)]
    for name, number in keys:
        held = versions.get((name, number))  # none: the batch reports it (not created)
        by_part[0 if held is None else store.input_part(held.version_id, parts)].append(
            [name, number]
        )
    chunks = [chunked(part, PUBLICATIONS_PER_BATCH) for part in by_part]
    turns = [chunk for turn in itertools.zip_longest(*chunks) for chunk in turn if chunk]
    return [
        Batch(
            key=f"publications-{index}",
            units=len(chunk),
            args={"versions": chunk, "parts": parts},
        )
        for index, chunk in enumerate(turns)
    ]


async def _publish(
    connection: asyncpg.Connection,
    migration: Migration,
    plugin: Plugin,
    planned: Mapping[str, PlannedRepository],
    keys: Sequence[tuple[str, int]],
    versions: Mapping[tuple[str, int], store.PlannedVersion],
) -> dict[int, int]:
    """Publish the plan versions ``keys`` of ``plugin`` that have no publication yet;
    ``{version id: new publication id}``."""
    new = await store.insert_publications(
        connection, plugin.pulp3.publication, [versions[key].version_id for key in keys]
    )
    listed: dict[int, set[str]] = defaultdict(set)  # new publication id -> distributor repos
    plans: dict[int, RepositoryPlan] = {}  # new publication id -> its plan repository
    for name, number in keys:
        publication_id = new.get(versions[name, number].version_id)
        if publication_id is not None:
            listed[publication_id].update(
                planned[name].version(number).pulp2_distributor_repository_ids
            )
            plans[publication_id] = planned[name].plan
    if not listed:
        return new
    configs: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for distributor in await store.pulp2_distributors(
        connection, set().union(*listed.values()), plugin.distributor_types
    ):
        configs[distributor.pulp2_repo_id].append(distributor.config)
    publications = [
        NewPublication(
            id=publication_id,
            options=plugin.publication_options(
                [config for repo_id in sorted(repo_ids) for config in configs[repo_id]]
            ),
            signing_service=plans[publication_id].signing_service,
            simple=plans[publication_id].simple,
            structured=plans[publication_id].structured,
        )
        for publication_id, repo_ids in sorted(listed.items())
    ]
    await plugin.publish(connection, publications, migration.settings)
    return new


async def create_publications(
    connection: asyncpg.Connection, migration: Migration, args: Mapping[str, Any]
) -> BatchResult:
    """Publish the batch's versions that have no publication yet."""
    planned = planned_repositories(migration.plan)
    keys = [(str(name), int(number)) for name, number in args["versions"]]
    versions = await store.planned_versions(connection, keys)
    parts = int(args.get("parts", 1))
    with_files = [
        (repository.name, number)
        for repository, number, _ in published_versions(planned)
        if repository.plugin.publishes_version_files
    ]
    for part in sorted({store.input_part(v.version_id, parts) for v in versions.values()}):
        await store.prepare_version_files(
            connection, STEP_CODE, migration.id, with_files, part, parts
        )
    failures: list[tuple[str, str]] = []
    unpublished: dict[str, list[tuple[str, int]]] = defaultdict(list)  # plugin type -> keys
    plugins: dict[str, Plugin] = {}
    for name, number in keys:
        version = versions.get((name, number))
        if version is None:
            failures.append((version_label(name, number), "the repository version was not created"))
        elif version.publication_id is None:
            plugin = planned[name].plugin
            plugins[plugin.type] = plugin
            unpublished[plugin.type].append((name, number))
    new: dict[int, int] = {}
    for plugin_type, plugin_keys in sorted(unpublished.items()):
        new.update(
            await _publish(
                connection, migration, plugins[plugin_type], planned, plugin_keys, versions
            )
        )
    if len(new) < sum(len(plugin_keys) for plugin_keys in unpublished.values()):
        # Another copy of this batch published some meanwhile: read back what it made.
        versions = await store.planned_versions(connection, keys)
    publication_of = {
        key: version.publication_id or new[version.version_id]
        for key, version in versions.items()
        if version.publication_id is not None or version.version_id in new
    }
    distributors: dict[tuple[str, ...], dict[str, int]] = defaultdict(dict)
    for name, number in keys:
        if (name, number) in publication_of:
            repository = planned[name]
            for repo_id in repository.version(number).pulp2_distributor_repository_ids:
                types = repository.plugin.distributor_types
                distributors[types][repo_id] = publication_of[name, number]
    for distributor_types, publications in distributors.items():
        await store.mark_published_distributors(connection, publications, distributor_types)
    log.info(
        "publications_created",
        step=STEP_CODE,
        created=len(new),
        existing=len(publication_of) - len(new),
        failed=len(failures),
    )
    return BatchResult(
        done=len(publication_of),
        failures=tuple(failures),
        created=tuple(Created(ResourceKind.PUBLICATION, pid) for pid in sorted(new.values())),
    )


STEP = make_step(
    STEP_CODE,
    "Publish repository versions with their metadata",
    create_publications,
    plan_publication_batches,
)
