"""A second plugin, for tests only: it proves the generic steps take any plugin through the seam.

Pulp 2 ``blob-repo`` repositories hold ``blob`` units (a name and a sha256) and ``blob_tag``
units (a name and the sha256 of the blob it tags; declared first, migrated after ``blob``,
which it needs). Both become file-shaped content under their own Pulp 3 types and keys: a blob's
natural key leaves out the size ISO's has. A ``blob_importer``'s ``url`` makes an on_demand
remote; a ``blob_distributor`` serves at ``blobs/<path or repo id>``, and its ``index_name``
names the one metadata file a publication gets: the sorted relative paths it publishes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import asyncpg

from pulp2to3 import storage
from pulp2to3.plugins import (
    ContentType,
    InvalidBasePath,
    InvalidImporter,
    MigratedUnits,
    NewPublication,
    Plugin,
    Pulp3Types,
    RemoteSpec,
)
from pulp2to3.settings import Settings
from pulp2to3.store import content, publications

DEFAULT_INDEX = "INDEX"


def _blob_row(unit: content.StagedUnit) -> tuple[dict[str, Any], int]:
    return {"relative_path": unit.fields["name"], "digest": unit.fields["sha256"]}, 0


def _tag_row(unit: content.StagedUnit) -> tuple[dict[str, Any], int]:
    return {"relative_path": f"tags/{unit.fields['name']}", "digest": unit.fields["blob"]}, 0


async def _save(
    content_type: ContentType,
    connection: asyncpg.Connection,
    units: Sequence[content.StagedUnit],
    fields_of: Callable[[content.StagedUnit], tuple[dict[str, Any], int]],
) -> MigratedUnits:
    rows: list[content.FileContentRow] = []
    failures: list[tuple[str, str]] = []
    for unit in units:
        try:
            fields, size = fields_of(unit)
        except KeyError as exc:
            failures.append((unit.pulp2_id, f"{exc.args[0]} is missing"))
            continue
        rows.append(
            content.FileContentRow(
                unit_id=unit.id,
                natural_key=content_type.natural_key_of(fields),
                repo_key=content_type.repository_key_of(fields),
                relative_path=fields["relative_path"],
                digest=fields["digest"],
                size=size,
                artifact=None,
            )
        )
    migrated = await content.save_file_content(connection, content_type.pulp_type, rows)
    return MigratedUnits(migrated, tuple(failures))


async def migrate_blobs(
    content_type: ContentType,
    connection: asyncpg.Connection,
    units: Sequence[content.StagedUnit],
    settings: Settings,
) -> MigratedUnits:
    return await _save(content_type, connection, units, _blob_row)


async def migrate_tags(
    content_type: ContentType,
    connection: asyncpg.Connection,
    units: Sequence[content.StagedUnit],
    settings: Settings,
) -> MigratedUnits:
    return await _save(content_type, connection, units, _tag_row)


BLOB = ContentType(
    pulp2_type="blob",
    pulp_type="blob.blob",
    natural_key=("relative_path", "digest"),
    repository_key=("relative_path",),
    description="Migrate blobs",
    migrate=migrate_blobs,
)
BLOB_TAG = dataclasses.replace(
    BLOB,
    pulp2_type="blob_tag",
    pulp_type="blob.tag",
    description="Migrate blob tags",
    migrate=migrate_tags,
    needs=("blob",),
)


def remote_from_importer(config: Mapping[str, Any]) -> RemoteSpec | None:
    url = config.get("url")
    if url is None:
        return None
    if not isinstance(url, str):
        raise InvalidImporter("url is not a string")
    return RemoteSpec(url=url, policy="on_demand", options={})


def publication_options(distributors: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    names = {config.get("index_name", DEFAULT_INDEX) for config in distributors}
    return {"index": min(names, default=DEFAULT_INDEX)}


def base_path(config: Mapping[str, Any], repo_id: str) -> str:
    path = str(config.get("path", repo_id)).strip("/")
    if ".." in path.split("/"):
        raise InvalidBasePath(f"path {path!r} leaves the tree")
    return f"blobs/{path}"


async def publish(
    connection: asyncpg.Connection, new: Sequence[NewPublication], settings: Settings
) -> None:
    files = await publications.publish_version_files(connection, [p.id for p in new])
    paths: dict[int, list[str]] = {p.id: [] for p in new}
    async for chunk in files:
        paths[chunk.publication_id].extend(chunk.relative_paths)
    for publication in new:
        writer = storage.ArtifactWriter(settings.media_root)
        try:
            writer.write("".join(f"{path}\n" for path in paths[publication.id]).encode())
            stored = writer.commit()
        finally:
            writer.discard()
        await publications.publish_metadata(
            connection,
            publication.options["index"],
            [
                publications.MetadataArtifact(
                    publication.id, stored.sha256, stored.size, stored.file
                )
            ],
        )


PLUGIN = Plugin(
    type="blob",
    pulp2_repo_type="blob-repo",
    content_types=(BLOB_TAG, BLOB),  # declared out of order: the graph orders them
    pulp3=Pulp3Types(
        repository="blob.repository",
        remote="blob.remote",
        publication="blob.publication",
        distribution="blob.distribution",
    ),
    distributor_types=("blob_distributor",),
    remote_from_importer=remote_from_importer,
    publication_options=publication_options,
    base_path=base_path,
    publish=publish,
    publishes_version_files=True,
)
