"""The Debian plugin: Pulp 2 ``deb-repo`` repositories become Pulp 3 ``deb.apt`` repositories.

A ``deb_importer`` becomes an APT remote: the shared importer rules (``pulp2_configs``: feed,
policy, TLS, proxy) plus ``releases`` as ``distributions`` (``stable`` when absent),
``components``, ``architectures`` (comma-separated in Pulp 2, space-separated in Pulp 3) and
``gpg_keys`` as ``gpgkey``. A ``deb_distributor`` serves at its ``relative_url`` (or the repo
id). A publication publishes, for each release of its version, the files of
``publish.release_files`` under ``dists/<distribution>/`` (stored as artifacts) and each
component's packages at their pool paths (on_demand ones too, served from their remote).
When its plan repository names a signing service, ``InRelease`` and ``Release.gpg`` are
written beside each ``Release`` (``signing``); otherwise there are none, and apt, which asks
for them first, gets a 404.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import structlog

from pulp2to3 import storage
from pulp2to3.plugins import (
    InvalidImporter,
    NewPublication,
    Plugin,
    Pulp3Types,
    RemoteSpec,
    pulp2_configs,
)
from pulp2to3.settings import Settings
from pulp2to3.store import deb, publications

from .content import COMPONENTS, PACKAGES, RELEASES
from .publish import Package, Release, pool_path, release_files
from .signing import SigningError, sign_release

log = structlog.get_logger(__name__)
DISTRIBUTOR_TYPE = "deb_distributor"
DEFAULT_RELEASES = "stable"
_LISTS = {"releases": "distributions", "components": "components", "architectures": "architectures"}


def _words(config: Mapping[str, Any], key: str) -> str:
    value = config[key]
    if not isinstance(value, str):
        raise InvalidImporter(f"{key} is {type(value).__name__}, not a comma-separated string")
    return " ".join(part.strip() for part in value.replace(" ", ",").split(",") if part.strip())


def remote_from_importer(config: Mapping[str, Any]) -> RemoteSpec | None:
    """The APT remote a ``deb_importer`` makes; None without a feed."""
    remote = pulp2_configs.remote_from_importer(config)
    if remote is None:
        return None
    options = dict(remote.options)
    for pulp2_key, pulp3_key in _LISTS.items():
        if config.get(pulp2_key) not in (None, ""):
            options[pulp3_key] = _words(config, pulp2_key)
    options.setdefault("distributions", DEFAULT_RELEASES)
    if config.get("gpg_keys") not in (None, ""):
        if not isinstance(config["gpg_keys"], str):
            raise InvalidImporter("gpg_keys is not text")
        options["gpgkey"] = config["gpg_keys"]
    return RemoteSpec(url=remote.url, policy=remote.policy, options=dict(sorted(options.items())))


def publication_options(distributors: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """A structured publication has no options from its distributors."""
    return {}


def _releases(
    releases: Sequence[Mapping[str, Any]],
    components: Sequence[Mapping[str, Any]],
    packages: Sequence[Mapping[str, Any]],
) -> list[tuple[Release, dict[str, list[tuple[Package, int]]]]]:
    """Each release of a version with its components' packages (and their content artifacts)."""
    held: dict[int, list[tuple[Package, int]]] = defaultdict(list)
    for row in packages:
        fields = {name: row[name] for name in Package.__dataclass_fields__}
        held[row["component_id"]].append((Package(**fields), row["content_artifact_id"]))
    by_release: dict[int, dict[str, list[tuple[Package, int]]]] = defaultdict(dict)
    for row in components:
        by_release[row["release_id"]][row["component"]] = held[row["content_id"]]
    built = []
    seen: set[str] = set()
    for row in releases:
        if row["distribution"] in seen:
            log.warning("deb_release_shadowed", distribution=row["distribution"])
            continue
        seen.add(row["distribution"])
        members = by_release[row["content_id"]]
        release = Release(
            distribution=row["distribution"],
            codename=row["codename"],
            suite=row["suite"],
            components={name: [p for p, _ in entries] for name, entries in members.items()},
        )
        built.append((release, members))
    return built


def _store(files: Mapping[str, bytes], media_root: Path) -> dict[str, storage.StoredArtifact]:
    """Blocking: each generated file as an artifact, by its published path."""
    stored = {}
    for path, data in sorted(files.items()):
        target = storage.ArtifactWriter(media_root)
        try:
            target.write(data)
            stored[path] = target.commit()
        finally:
            target.discard()
    return stored


async def _publish_one(
    connection: asyncpg.Connection, publication: NewPublication, settings: Settings
) -> None:
    built = _releases(
        await deb.version_releases(connection, publication.id),
        await deb.version_components(connection, publication.id),
        await deb.version_component_packages(connection, publication.id),
    )
    service = None
    if publication.signing_service is not None:
        service = settings.signing_services.get(publication.signing_service)
        if service is None:
            raise SigningError(
                f"signing service {publication.signing_service!r} is not configured"
                " (PULP2TO3_SIGNING_SERVICES)"
            )
    now = datetime.now(UTC)
    files: dict[str, bytes] = {}
    pool: list[tuple[str, int]] = []
    for release, members in built:
        folder = f"dists/{release.distribution}"
        for name, data in release_files(release, now).items():
            files[f"{folder}/{name}"] = data
        if service is not None:
            signed = await asyncio.to_thread(sign_release, service, files[f"{folder}/Release"])
            files.update({f"{folder}/{name}": data for name, data in signed.items()})
        for component, entries in members.items():
            pool += [(pool_path(component, package), artifact) for package, artifact in entries]
    await deb.publish_pool(connection, publication.id, pool)
    stored = await asyncio.to_thread(_store, files, settings.media_root)
    for path, artifact in stored.items():
        await publications.publish_metadata(
            connection,
            path,
            [
                publications.MetadataArtifact(
                    publication.id, artifact.sha256, artifact.size, artifact.file
                )
            ],
        )


async def publish(
    connection: asyncpg.Connection, new: Sequence[NewPublication], settings: Settings
) -> None:
    """The structured layout of each publication's version."""
    for publication in sorted(new, key=lambda p: p.id):
        await _publish_one(connection, publication, settings)


PLUGIN = Plugin(
    type="deb",
    pulp2_repo_type="deb-repo",
    content_types=(RELEASES, PACKAGES, COMPONENTS),
    pulp3=Pulp3Types(
        repository="deb.apt",
        remote="deb.apt",
        publication="deb.apt",
        distribution="deb.apt",
    ),
    distributor_types=(DISTRIBUTOR_TYPE,),
    remote_from_importer=remote_from_importer,
    publication_options=publication_options,
    base_path=pulp2_configs.base_path,
    publish=publish,
)
