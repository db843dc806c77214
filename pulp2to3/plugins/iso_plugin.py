"""The ISO plugin: Pulp 2 ``iso`` repositories become Pulp 3 ``file.file`` repositories.

A publication publishes every content file of its version at its relative path (on_demand
files too, served from their remote) plus a ``PULP_MANIFEST`` generated from the published
files, stored as a content-addressed artifact under the media root.

The PULP_MANIFEST is streamed from a cursor to ``storage.ArtifactWriter``: a temporary file
beside the artifacts, hashed as it is written, then moved to its content-addressed name with
``os.replace``: memory stays bounded however big the repository, and a crash never leaves a
partial file under that name.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import asyncpg

from pulp2to3 import storage
from pulp2to3.plugins import NewPublication, Plugin, Pulp3Types, iso, iso_content, pulp2_configs
from pulp2to3.settings import Settings
from pulp2to3.store import publications as store


async def write_manifests(
    files: AsyncIterable[store.PublishedChunk], publication_ids: Sequence[int], media_root: Path
) -> list[store.MetadataArtifact]:
    """The PULP_MANIFEST of each publication, from ``files`` (by publication, then path),
    stored as artifact files (not yet rows); flushed to disk together."""
    writers: dict[int, storage.ArtifactWriter] = {}
    try:
        for publication_id in publication_ids:
            writers[publication_id] = await asyncio.to_thread(storage.ArtifactWriter, media_root)
        async for chunk in files:
            lines = iso.manifest_lines(chunk.relative_paths, chunk.sha256s, chunk.sizes)
            await asyncio.to_thread(writers[chunk.publication_id].write, lines.encode())
        # One fsync after the other took 2-3 ms each; at once they share the journal's commits.
        outcomes = await asyncio.gather(
            *(asyncio.to_thread(writer.commit) for writer in writers.values()),
            return_exceptions=True,
        )
    finally:
        for writer in writers.values():
            await asyncio.to_thread(writer.discard)
    stored = []
    for publication_id, outcome in zip(writers, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            raise outcome
        stored.append(
            store.MetadataArtifact(publication_id, outcome.sha256, outcome.size, outcome.file)
        )
    return stored


async def publish(
    connection: asyncpg.Connection, publications: Sequence[NewPublication], settings: Settings
) -> None:
    """Every content file of each publication's version, and its PULP_MANIFEST."""
    ids = sorted(publication.id for publication in publications)
    files = await store.publish_version_files(connection, ids)
    manifests = await write_manifests(files, ids, settings.media_root)
    await store.publish_metadata(connection, iso.MANIFEST_NAME, manifests)


def publication_options(distributors: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """A file publication has no options."""
    return {}


PLUGIN = Plugin(
    type="iso",
    pulp2_repo_type="iso-repo",
    content_types=(iso_content.CONTENT_TYPE,),
    pulp3=Pulp3Types(
        repository="file.file",
        remote="file.file",
        publication="file.file",
        distribution="file.file",
    ),
    distributor_types=("iso_distributor",),
    remote_from_importer=pulp2_configs.remote_from_importer,
    publication_options=publication_options,
    base_path=pulp2_configs.base_path,
    publish=publish,
    publishes_version_files=True,
)
