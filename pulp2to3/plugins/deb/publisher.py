"""Publish a Debian repository version in the layouts its plan asks for: its packages stream
from a database cursor, by release, component and architecture (the simple layout's one
release and component: by architecture), into one index at a time (``indexes.IndexWriter``, in a
thread), so memory stays bounded however big the version; each index file, then each
``Release`` (and its signatures, when the plan asks), becomes an artifact published as
metadata, and each package file is published at its pool path.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import structlog

from pulp2to3 import storage
from pulp2to3.plugins import NewPublication
from pulp2to3.settings import Settings, SigningService
from pulp2to3.store import deb, publications

from .indexes import IndexFile, IndexWriter
from .publish import (
    SIMPLE,
    SIMPLE_COMPONENT,
    Digest,
    Package,
    Release,
    architectures,
    index_entry,
    index_path,
    pool_path,
    release_file,
)
from .signing import SigningError, sign_release

log = structlog.get_logger(__name__)
ENTRIES_PER_WRITE = 500  # index entries handed to the writer's thread at a time
POOL_PER_INSERT = 1000  # pool paths published at a time
IndexKey = tuple[int, str, str]  # release id, component, architecture
SIMPLE_ID = 0  # the simple layout's release, among releases known by their content id


class LayoutError(RuntimeError):
    """The layouts the plan asks for cannot both be published."""


def signing_service(publication: NewPublication, settings: Settings) -> SigningService | None:
    """The key the publication's plan repository names, if it names one."""
    if publication.signing_service is None:
        return None
    service = settings.signing_services.get(publication.signing_service)
    if service is None:
        raise SigningError(
            f"signing service {publication.signing_service!r} is not configured"
            " (PULP2TO3_SIGNING_SERVICES)"
        )
    return service


def _package(row: Mapping[str, Any]) -> Package:
    return Package(**{name: row[name] for name in Package.__dataclass_fields__})


def _stored_file(data: bytes, media_root: Path) -> storage.StoredArtifact:
    """Blocking: ``data`` as an artifact."""
    target = storage.ArtifactWriter(media_root)
    try:
        target.write(data)
        return target.commit()
    finally:
        target.discard()


def releases_to_publish(rows: list[Mapping[str, Any]], simple: bool) -> dict[int, Release]:
    """The releases to publish by id: those of ``rows`` (the version's, by distribution; of
    two at one distribution the first), and the simple layout's if asked for."""
    releases: dict[int, Release] = {SIMPLE_ID: SIMPLE} if simple else {}
    seen: set[str] = set()
    for row in rows:
        if simple and row["distribution"] == SIMPLE.distribution:
            raise LayoutError(
                f"release {row['codename']!r} is at dists/{SIMPLE.distribution}/, where the"
                " simple layout the plan asks for publishes: ask for one of them"
            )
        if row["distribution"] in seen:
            log.warning("deb_release_shadowed", distribution=row["distribution"])
            continue
        seen.add(row["distribution"])
        releases[row["content_id"]] = Release(row["distribution"], row["codename"], row["suite"])
    return releases


class VersionPublisher:
    """Fills one new publication (in the batch's transaction)."""

    def __init__(
        self, connection: asyncpg.Connection, publication: NewPublication, settings: Settings
    ) -> None:
        self.connection = connection
        self.id = publication.id
        self.media_root = settings.media_root
        self.service = signing_service(publication, settings)
        self.releases: dict[int, Release] = {}
        self.components: dict[int, list[str]] = defaultdict(list)
        self.digests: dict[int, dict[str, Digest]] = defaultdict(dict)
        self.pool: list[tuple[str, int]] = []

    async def publish_file(self, path: str, artifact: storage.StoredArtifact) -> None:
        await publications.publish_metadata(
            self.connection,
            path,
            [publications.MetadataArtifact(self.id, artifact.sha256, artifact.size, artifact.file)],
        )

    async def read_releases(self, structured: bool, simple: bool) -> None:
        rows = await deb.version_releases(self.connection, self.id) if structured else []
        self.releases = releases_to_publish(rows, simple)
        if simple:
            self.components[SIMPLE_ID].append(SIMPLE_COMPONENT)
        if structured:
            for row in await deb.version_components(self.connection, self.id):
                self.components[row["release_id"]].append(row["component"])

    async def finish_index(self, key: IndexKey, writer: IndexWriter, rest: list[bytes]) -> None:
        """Write the last entries of an index, store both its files, publish them."""
        release_id, component, architecture = key
        try:
            await asyncio.to_thread(writer.write, b"".join(rest))
            files: tuple[IndexFile, IndexFile] = await asyncio.to_thread(writer.commit)
        finally:
            await asyncio.to_thread(writer.discard)
        folder = f"dists/{self.releases[release_id].distribution}"
        for name, file in zip(("Packages", "Packages.gz"), files, strict=True):
            path = index_path(component, architecture, name)
            artifact = file.artifact
            self.digests[release_id][path] = Digest(artifact.size, artifact.sha256, file.sha512)
            await self.publish_file(f"{folder}/{path}", artifact)

    async def flush_pool(self) -> None:
        await deb.publish_pool(self.connection, self.id, self.pool)
        self.pool = []

    async def write_indexes(self, rows: AsyncIterator[Mapping[str, Any]]) -> None:
        """Every non-empty index, from ``rows`` (packages by release, component and
        architecture)."""
        key: IndexKey | None = None
        writer: IndexWriter | None = None
        entries: list[bytes] = []
        try:
            async for row in rows:
                if row["release_id"] not in self.releases:
                    continue
                row_key = (row["release_id"], row["component"], row["architecture"])
                if row_key != key:
                    if key is not None and writer is not None:
                        await self.finish_index(key, writer, entries)
                        writer, entries = None, []
                    key = row_key
                    writer = await asyncio.to_thread(IndexWriter, self.media_root)
                assert writer is not None
                package = _package(row)
                entries.append(index_entry(row["component"], package))
                self.pool.append((pool_path(row["component"], package), row["content_artifact_id"]))
                if len(entries) >= ENTRIES_PER_WRITE:
                    await asyncio.to_thread(writer.write, b"".join(entries))
                    entries = []
                if len(self.pool) >= POOL_PER_INSERT:
                    await self.flush_pool()
            if key is not None and writer is not None:
                await self.finish_index(key, writer, entries)
                writer = None
        finally:
            if writer is not None:
                await asyncio.to_thread(writer.discard)
        await self.flush_pool()

    async def write_releases(self) -> None:
        """The empty indexes each release still lacks, then its Release (signed if asked)."""
        now = datetime.now(UTC)
        for release_id, release in sorted(self.releases.items()):
            written = self.digests[release_id]
            found = {path.split("/")[-2].removeprefix("binary-") for path in written}
            arches = architectures(found)
            for component in self.components[release_id]:
                for architecture in arches:
                    if index_path(component, architecture) not in written:
                        writer = await asyncio.to_thread(IndexWriter, self.media_root)
                        await self.finish_index((release_id, component, architecture), writer, [])
            data = release_file(release, self.components[release_id], arches, written, now)
            files = {"Release": data}
            if self.service is not None:
                files |= await asyncio.to_thread(sign_release, self.service, data)
            for name, content in files.items():
                artifact = await asyncio.to_thread(_stored_file, content, self.media_root)
                await self.publish_file(f"dists/{release.distribution}/{name}", artifact)


async def publish_version(
    connection: asyncpg.Connection, publication: NewPublication, settings: Settings
) -> None:
    publisher = VersionPublisher(connection, publication, settings)
    await publisher.read_releases(publication.structured, publication.simple)
    if publication.structured:
        await publisher.write_indexes(deb.stream_version_packages(connection, publication.id))
    if publication.simple:
        await publisher.write_indexes(
            deb.stream_simple_packages(connection, publication.id, SIMPLE_ID, SIMPLE_COMPONENT)
        )
    await publisher.write_releases()
