"""The ``create_publications`` step: publish each plan version that has distributors.

A plan version listing ``pulp2_distributor_repository_ids`` gets one publication: every content
file of the version at its relative path (on_demand files too, served from their remote) plus a
``PULP_MANIFEST`` generated from the published files, stored as a content-addressed artifact
under the media root. A version is published once (a unique index decides): a batch run again
finds its publications and changes nothing. The distributors of the listed Pulp 2 repositories
are recorded as publishing it.

The PULP_MANIFEST is streamed from a cursor to ``storage.ArtifactWriter``: a temporary file
beside the artifacts, hashed as it is written, then moved to its content-addressed name with
``os.replace``: memory stays bounded however big the repository, and a crash never leaves a
partial file under that name.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import asyncpg
import structlog

from pulp2to3 import storage
from pulp2to3.actors.repo_versions import version_label
from pulp2to3.actors.repositories import chunked_batches, planned_repositories, published_versions
from pulp2to3.actors.steps import Batch, BatchResult, Run, Step, batch_task
from pulp2to3.plugins import iso_publish
from pulp2to3.store import publications as store
from pulp2to3.store.progress import Created
from pulp2to3.store.tasks import ResourceKind

log = structlog.get_logger(__name__)

STEP_CODE = "create_publications"
PUBLICATIONS_PER_BATCH = 20
# Manifest lines written to disk at a time (one thread hop each).
_LINES_PER_WRITE = 10_000


def planned_publications(run: Run) -> list[tuple[str, int]]:
    """``(repository name, version number)`` of every plan version that lists distributors."""
    return [
        (repository.name, number)
        for repository, number, _ in published_versions(planned_repositories(run.plan))
    ]


async def plan_publication_batches(connection: asyncpg.Connection, run: Run) -> list[Batch]:
    """Up to ``PUBLICATIONS_PER_BATCH`` versions per batch; a unit is a publication."""
    versions = [[name, number] for name, number in planned_publications(run)]
    return chunked_batches("publications", "versions", versions, PUBLICATIONS_PER_BATCH)


async def write_manifest(
    connection: asyncpg.Connection, publication_id: int, media_root: Path
) -> store.MetadataArtifact:
    """The PULP_MANIFEST of a publication, stored as an artifact file (not yet a row)."""
    target = await asyncio.to_thread(storage.ArtifactWriter, media_root)
    try:
        lines: list[str] = []
        async for entry in store.manifest_entries(connection, publication_id):
            lines.append(iso_publish.manifest_line(entry.relative_path, entry.sha256, entry.size))
            if len(lines) >= _LINES_PER_WRITE:
                await asyncio.to_thread(target.write, "".join(lines).encode())
                lines = []
        await asyncio.to_thread(target.write, "".join(lines).encode())
        stored = await asyncio.to_thread(target.commit)
    finally:
        await asyncio.to_thread(target.discard)
    return store.MetadataArtifact(
        publication_id=publication_id, sha256=stored.sha256, size=stored.size, file=stored.file
    )


async def create_publications(
    connection: asyncpg.Connection, run: Run, args: Mapping[str, Any]
) -> BatchResult:
    """Publish the batch's versions that have no publication yet."""
    planned = planned_repositories(run.plan)
    keys = [(str(name), int(number)) for name, number in args["versions"]]
    versions = await store.planned_versions(connection, keys)
    failures: list[tuple[str, str]] = []
    unpublished: dict[str, list[int]] = defaultdict(list)  # pulp type -> version ids
    for name, number in keys:
        version = versions.get((name, number))
        if version is None:
            failures.append((version_label(name, number), "the repository version was not created"))
        elif version.publication_id is None:
            unpublished[planned[name].pulp_type].append(version.version_id)
    new: dict[int, int] = {}
    for pulp_type, version_ids in sorted(unpublished.items()):
        new.update(await store.insert_publications(connection, pulp_type, version_ids))
    if len(new) < sum(len(version_ids) for version_ids in unpublished.values()):
        # Another copy of this batch published some meanwhile: read back what it made.
        versions = await store.planned_versions(connection, keys)
    if new:
        await store.publish_version_content(connection, new.values())
        manifests = [
            await write_manifest(connection, publication_id, run.settings.media_root)
            for publication_id in sorted(new.values())
        ]
        await store.publish_metadata(connection, iso_publish.MANIFEST_NAME, manifests)
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
                distributors[repository.distributor_types][repo_id] = publication_of[name, number]
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


STEP = Step(
    code=STEP_CODE,
    description="Publish repository versions, with their PULP_MANIFEST",
    task=batch_task(f"pulp2to3.{STEP_CODE}", STEP_CODE)(create_publications),
    plan_batches=plan_publication_batches,
)
