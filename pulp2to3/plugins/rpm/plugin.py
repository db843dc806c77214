"""The RPM plugin: Pulp 2 ``rpm-repo`` repositories become Pulp 3 ``rpm.rpm`` repositories.

A publication publishes every package of its version at ``Packages/<first letter>/<file>``
(on_demand ones too, served from their remote) and a ``repodata/`` written by
``publish.write_repodata`` in a folder of its own under the media root. The packages stream
from a database cursor into the writer, which runs in a thread: the thread asks the event loop
for one row at a time, so memory stays bounded however many packages a version holds. Each
file written becomes a content-addressed artifact published at ``repodata/<file>``.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import structlog

from pulp2to3 import storage
from pulp2to3.plugins import NewPublication, Plugin, Pulp3Types, pulp2_configs
from pulp2to3.settings import Settings
from pulp2to3.store import publications, rpm

from . import config
from .content import RPM, SRPM
from .packages import RpmPackage
from .publish import REPODATA, write_repodata

log = structlog.get_logger(__name__)


def publication_options(distributors: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The checksum type and sqlite choice of the first distributor that sets them."""
    options: dict[str, Any] = {}
    for name in ("checksum_type", "generate_sqlite"):
        for distributor in distributors:
            if distributor.get(name) is not None:
                options[name] = distributor[name]
                break
    return options


def _package(row: Mapping[str, Any]) -> RpmPackage:
    kind = "srpm" if row["arch"] in ("src", "nosrc") else "rpm"
    return RpmPackage(content_type=kind, **row)


def _packages_from(
    rows: AsyncIterator[Mapping[str, Any]], loop: asyncio.AbstractEventLoop
) -> Iterator[RpmPackage]:
    """Blocking, in the writer's thread: the cursor's rows, each fetched by the event loop."""

    async def next_row() -> Mapping[str, Any] | None:
        try:
            return await anext(rows)
        except StopAsyncIteration:
            return None

    while (row := asyncio.run_coroutine_threadsafe(next_row(), loop).result()) is not None:
        yield _package(row)


def _settings(publication: NewPublication, checksum_type: str | None) -> config.PublicationSettings:
    try:
        return config.publication_settings(publication.options, checksum_type)
    except config.InvalidDistributor as error:
        log.warning("rpm_distributor_options_ignored", publication=publication.id, error=str(error))
        return config.publication_settings({}, checksum_type)


def _store_files(folder: Path, media_root: Path) -> list[tuple[str, storage.StoredArtifact]]:
    """Blocking: each file of ``folder/repodata`` as an artifact, by its name."""
    stored = []
    for path in sorted((folder / REPODATA).iterdir()):
        digest = hashlib.sha256()
        with path.open("rb") as source:
            for chunk in iter(lambda: source.read(1 << 20), b""):
                digest.update(chunk)
        artifact = storage.store_artifact(
            path, media_root, sha256=digest.hexdigest(), size=path.stat().st_size
        )
        stored.append((path.name, artifact))
    return stored


async def _publish_repodata(
    connection: asyncpg.Connection, publication: NewPublication, settings: Settings
) -> None:
    packages = await rpm.version_packages(connection, publication.id)
    chosen = _settings(publication, packages.checksum_type)
    settings.media_root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=".tmp-repodata-", dir=settings.media_root))
    try:
        rows = rpm.stream_packages(connection, publication.id)
        await asyncio.to_thread(
            write_repodata,
            folder,
            packages=_packages_from(rows, asyncio.get_running_loop()),
            package_count=packages.count,
            settings=chosen,
        )
        stored = await asyncio.to_thread(_store_files, folder, settings.media_root)
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)
    for name, artifact in stored:
        await publications.publish_metadata(
            connection,
            f"{REPODATA}/{name}",
            [
                publications.MetadataArtifact(
                    publication.id, artifact.sha256, artifact.size, artifact.file
                )
            ],
        )


async def publish(
    connection: asyncpg.Connection, new: Sequence[NewPublication], settings: Settings
) -> None:
    """Every package of each publication's version, and its repodata."""
    await publications.publish_version_content(connection, sorted(p.id for p in new))
    for publication in sorted(new, key=lambda p: p.id):
        await _publish_repodata(connection, publication, settings)


PLUGIN = Plugin(
    type="rpm",
    pulp2_repo_type="rpm-repo",
    content_types=(RPM, SRPM),
    pulp3=Pulp3Types(
        repository="rpm.rpm",
        remote="rpm.rpm",
        publication="rpm.rpm",
        distribution="rpm.rpm",
    ),
    distributor_types=(config.DISTRIBUTOR_TYPE,),
    remote_from_importer=pulp2_configs.remote_from_importer,
    publication_options=publication_options,
    base_path=config.base_path,
    publish=publish,
    unmigrated_distributor_types=config.UNMIGRATED_DISTRIBUTOR_TYPES,
)
