"""The RPM plugin: Pulp 2 ``rpm-repo`` repositories become Pulp 3 ``rpm.rpm`` repositories.

A publication publishes every package of its version at ``Packages/<first letter>/<file>``
(on_demand ones too, served from their remote) and a ``repodata/`` written by
``publish.write_repodata`` in a folder of its own beside the artifacts. The packages stream
from a database cursor into the writer, which runs in a thread: the thread asks the event loop
for one row at a time, so memory stays bounded however many packages a version holds. Each
file written becomes a content-addressed artifact published at ``repodata/<file>``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import libcomps
import structlog

from pulp2to3 import storage
from pulp2to3.plugins import NewPublication, Plugin, Pulp3Types, pulp2_configs
from pulp2to3.settings import Settings
from pulp2to3.store import publications, rpm

from . import advisories, comps, config, metadata_files, modules, stored
from .content import DRPM, RPM, SRPM
from .metadata import CONTENT_TYPES, StoredAdvisory
from .packages import RpmPackage
from .publish import REPODATA, ExtraMetadata, write_repodata

log = structlog.get_logger(__name__)
T = TypeVar("T")
# Rows handed from the event loop to the repodata writer's thread at a time.
ROWS_PER_HOP = 200
PKGLISTS = "erratum_pkglists"


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


def _blocking(rows: AsyncIterator[T], loop: asyncio.AbstractEventLoop) -> Iterator[T]:
    """Blocking, in the writer's thread: the cursor's rows, fetched by the event loop
    :data:`ROWS_PER_HOP` at a time."""

    async def next_rows() -> list[T]:
        fetched: list[T] = []
        async for row in rows:
            fetched.append(row)
            if len(fetched) == ROWS_PER_HOP:
                break
        return fetched

    while fetched := asyncio.run_coroutine_threadsafe(next_rows(), loop).result():
        yield from fetched


@dataclasses.dataclass(frozen=True)
class VersionExtras:
    """What a version holds besides packages and advisories (few: read at once)."""

    modules: list[modules.Module]
    module_snippets: list[str]
    comps: libcomps.Comps | None
    extra_metadata: list[ExtraMetadata]


async def _extras(
    connection: asyncpg.Connection, publication_id: int, media_root: Path
) -> VersionExtras:
    async def of(kind: str) -> list[rpm.VersionMetadata]:
        return await rpm.version_metadata(connection, publication_id, kind)

    module_rows = await of(modules.MODULEMD)
    defaults_rows = await of(modules.MODULEMD_DEFAULTS)
    groups = [stored.load(comps.Group, row.data) for row in await of(comps.GROUP)]
    categories = [stored.load(comps.Category, row.data) for row in await of(comps.CATEGORY)]
    environments = [stored.load(comps.Environment, row.data) for row in await of(comps.ENVIRONMENT)]
    langpacks = [stored.load(comps.Langpacks, row.data) for row in await of(comps.LANGPACKS)]
    files = [
        ExtraMetadata(
            stored.load(metadata_files.RepoMetadataFile, row.data).data_type, media_root / row.file
        )
        for row in await of(metadata_files.CONTENT_TYPE)
        if row.file is not None
    ]
    return VersionExtras(
        modules=[stored.load(modules.Module, row.data) for row in module_rows],
        module_snippets=[row.snippet or "" for row in (*module_rows, *defaults_rows)],
        comps=comps.build_comps(groups, categories, environments, langpacks)
        if groups or categories or environments or langpacks
        else None,
        extra_metadata=files,
    )


def _advisories(
    rows: Iterator[tuple[Any, list[advisories.Nevra]]], module_refs: set[advisories.ModuleRef]
) -> Iterator[tuple[advisories.Advisory, tuple[advisories.Collection, ...]]]:
    """Each advisory with the collections this version sees (its packages, its modules)."""
    for data, held in rows:
        advisory = stored.load(StoredAdvisory, data)
        yield (
            advisory.advisory,
            advisories.filter_collections(advisory.collections, set(held), module_refs),
        )


def _settings(publication: NewPublication, checksum_type: str | None) -> config.PublicationSettings:
    try:
        return config.publication_settings(publication.options, checksum_type)
    except config.InvalidDistributor as error:
        log.warning("rpm_distributor_options_ignored", publication=publication.id, error=str(error))
        return config.publication_settings({}, checksum_type)


def _store_files(folder: Path, media_root: Path) -> list[tuple[str, storage.StoredArtifact]]:
    """Blocking: each file of ``folder/repodata`` as an artifact, by its name."""
    artifacts = []
    for path in sorted((folder / REPODATA).iterdir()):
        with path.open("rb") as source:
            sha256 = storage.sha256_of_fd(source.fileno())
        artifact = storage.store_artifact(path, media_root, sha256=sha256, size=path.stat().st_size)
        artifacts.append((path.name, artifact))
    return artifacts


async def _publish_repodata(
    connection: asyncpg.Connection, publication: NewPublication, settings: Settings
) -> None:
    packages = await rpm.version_packages(connection, publication.id)
    chosen = _settings(publication, packages.checksum_type)
    extras = await _extras(connection, publication.id, settings.media_root)
    loop = asyncio.get_running_loop()
    folder = await asyncio.to_thread(storage.temporary_folder, settings.media_root)
    try:
        rows = rpm.stream_packages(connection, publication.id)
        advisory_rows = rpm.stream_advisories(connection, publication.id)
        await asyncio.to_thread(
            write_repodata,
            folder,
            packages=(_package(row) for row in _blocking(rows, loop)),
            package_count=packages.count,
            settings=chosen,
            advisories=_advisories(
                _blocking(advisory_rows, loop), {module.ref for module in extras.modules}
            ),
            module_snippets=extras.module_snippets,
            comps=extras.comps,
            extra_metadata=extras.extra_metadata,
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
    """Every package (and kickstart tree file) of each publication's version, and its
    repodata."""
    await rpm.publish_files(connection, [p.id for p in new])
    for publication in sorted(new, key=lambda p: p.id):
        await _publish_repodata(connection, publication, settings)


PLUGIN = Plugin(
    type="rpm",
    pulp2_repo_type="rpm-repo",
    content_types=(RPM, SRPM, *CONTENT_TYPES, DRPM),
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
    staged_collections=(PKGLISTS,),
)
