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
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import asyncpg

from pulp2to3 import storage
from pulp2to3.plugins import NewPublication, Plugin, Pulp3Types, iso, iso_content, pulp2_configs
from pulp2to3.settings import Settings
from pulp2to3.store import publications as store

# Manifest lines written to disk at a time (one thread hop each).
_LINES_PER_WRITE = 10_000


async def write_manifest(
    connection: asyncpg.Connection, publication_id: int, media_root: Path
) -> store.MetadataArtifact:
    """The PULP_MANIFEST of a publication, stored as an artifact file (not yet a row)."""
    target = await asyncio.to_thread(storage.ArtifactWriter, media_root)
    try:
        lines: list[str] = []
        async for entry in store.manifest_entries(connection, publication_id):
            lines.append(iso.manifest_line(entry.relative_path, entry.sha256, entry.size))
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


async def publish(
    connection: asyncpg.Connection, publications: Sequence[NewPublication], settings: Settings
) -> None:
    """Every content file of each publication's version, and its PULP_MANIFEST."""
    ids = sorted(publication.id for publication in publications)
    await store.publish_version_content(connection, ids)
    manifests = [
        await write_manifest(connection, publication_id, settings.media_root)
        for publication_id in ids
    ]
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
)
