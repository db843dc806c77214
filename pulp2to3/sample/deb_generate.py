"""Write the Debian part of a sample: its collections in the dump, its ``.deb`` files in the
Pulp 2 tree."""

from __future__ import annotations

import os
import random
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .deb_population import DebPopulation, DebRepoSpec, DebSpec, ReleaseSpec, component_of
from .rpm_documents import lazy_documents, membership_documents
from .rpm_generate import SharedCollections
from .writer import DumpWriter

UNIT_TYPES = ("deb", "deb_release", "deb_component")
Document = dict[str, Any]


@dataclass(frozen=True)
class DebSampleSummary:
    repos: int
    unit_counts: Mapping[str, int]
    """Units written per Pulp 2 content type."""
    downloaded_packages: int
    on_demand_packages: int
    components: Mapping[tuple[str, str, str], frozenset[str]]
    """(repo id, distribution as Pulp 2 kept it, component) -> the ids of its packages."""


def _unit(unit_id: str, kind: str, added: Any) -> Document:
    return {
        "_id": unit_id,
        "_content_type_id": kind,
        "_last_updated": int(added.timestamp()),
        "downloaded": True,
        "pulp_user_metadata": {},
    }


def deb_document(package: DebSpec) -> Document:
    document = _unit(package.unit_id, "deb", package.added)
    document.update(
        {
            "_storage_path": package.storage_path,
            "downloaded": package.downloaded,
            "package": package.name,
            "version": package.version,
            "architecture": package.architecture,
            "checksumtype": "sha256",
            "checksum": package.checksum,
            "filename": package.filename,
            "relativepath": package.filename,
            "size": len(package.content),
            "installed_size": package.fields["Installed-Size"],
            "control_fields": dict(package.fields),
            "_ns": "units_deb",
        }
    )
    return document


def release_document(unit_id: str, repo: DebRepoSpec, release: ReleaseSpec) -> Document:
    document = _unit(unit_id, "deb_release", repo.last_sync)
    document.update(
        {
            "distribution": release.distribution,
            "codename": release.codename,
            "suite": release.suite,
            "repoid": repo.repo_id,
            "_ns": "units_deb_release",
        }
    )
    return document


def component_document(
    unit_id: str, repo: DebRepoSpec, release: ReleaseSpec, name: str, packages: list[str]
) -> Document:
    document = _unit(unit_id, "deb_component", repo.last_sync)
    document.update(
        {
            "name": name,
            "distribution": release.distribution,
            "release": release.codename,
            "repoid": repo.repo_id,
            "packages": packages,
            "_ns": "units_deb_component",
        }
    )
    return document


def repo_document(repo: DebRepoSpec, counts: Counter[str]) -> Document:
    document: Document = {
        "_id": repo.object_id,
        "repo_id": repo.repo_id,
        "display_name": f"Debian repository {repo.index}",
        "description": f"Sample Debian repository {repo.repo_id}",
        "notes": {"_repo-type": "deb-repo"},
        "scratchpad": {},
        "content_unit_counts": {kind: count for kind, count in counts.items() if count},
        "_ns": "repos",
    }
    if counts:
        document["last_unit_added"] = repo.last_sync
    return document


def importer_document(repo: DebRepoSpec) -> Document:
    config: Document = {"download_policy": "on_demand" if repo.on_demand else "immediate"}
    if repo.feed is not None:
        config.update(
            feed=repo.feed,
            releases=",".join(release.distribution for release in repo.releases),
            components="asgard,jotunheimr",
            architectures="amd64,arm64,i386",
        )
    return {
        "_id": repo.importer_object_id,
        "repo_id": repo.repo_id,
        "importer_type_id": "deb_importer",
        "config": config,
        "last_updated": repo.last_sync,
        "last_override_config": {},
        "scratchpad": None,
        "_ns": "repo_importers",
    }


def distributor_document(repo: DebRepoSpec) -> Document:
    return {
        "_id": repo.distributor_object_id,
        "repo_id": repo.repo_id,
        "distributor_id": "deb_distributor",
        "distributor_type_id": "deb_distributor",
        "config": {"relative_url": f"/deb/{repo.repo_id}/", "http": True, "https": False},
        "auto_publish": True,
        "last_publish": repo.last_sync,
        "last_updated": repo.last_sync,
        "last_override_config": {},
        "scratchpad": {},
        "_ns": "repo_distributors",
    }


def write_deb_sample(
    writer: DumpWriter, shared: SharedCollections, root: Path, population: DebPopulation
) -> DebSampleSummary:
    """Every Debian collection of ``population``; files under ``root``."""
    repos, ids = population.repos, population.object_ids
    out = {kind: writer.collection(f"units_{kind}", unique=[("_id",)]) for kind in UNIT_TYPES}
    counts: list[Counter[str]] = [Counter() for _ in repos]
    rng = random.Random(f"deb-units-{population.seed}")

    def unit(document: Document, held_by: tuple[int, ...], added: Any) -> None:
        kind = document["_content_type_id"]
        out[kind].write(document)
        for membership in membership_documents(
            document["_id"],
            kind,
            held_by,
            repos,  # type: ignore[arg-type]  # only repo_id is read
            ids,
            added,
        ):
            shared.memberships.write(membership)
        for index in held_by:
            counts[index][kind] += 1

    packages = population.packages()
    for package in packages:
        document = deb_document(package)
        unit(document, package.repos, package.added)
        if package.downloaded:
            path = os.path.join(root, package.relative_path)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            Path(path).write_bytes(package.content)
        else:
            for entry in lazy_documents(
                package.unit_id,
                "deb",
                f"pool/{package.filename}",
                package.storage_path,
                package.checksum,
                tuple(index for index in package.repos if repos[index].on_demand),
                repos,  # type: ignore[arg-type]  # repo_id, feed and importer id are read
                ids,
                package.added,
            ):
                shared.lazy.write(entry)
    components: dict[tuple[str, str, str], frozenset[str]] = {}
    for repo in repos:
        held = [p for p in packages if repo.index in p.repos]
        for release in repo.releases:
            release_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            unit(release_document(release_id, repo, release), (repo.index,), repo.last_sync)
            for name in release.components + release.empty_components:
                members = [p.unit_id for p in held if name in component_of(release, p.number)]
                components[(repo.repo_id, release.distribution, name)] = frozenset(members)
                unit_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                document = component_document(unit_id, repo, release, name, members)
                unit(document, (repo.index,), repo.last_sync)
        shared.repos.write(repo_document(repo, counts[repo.index]))
        shared.importers.write(importer_document(repo))
        shared.distributors.write(distributor_document(repo))
    downloaded = sum(package.downloaded for package in packages)
    return DebSampleSummary(
        repos=len(repos),
        unit_counts=MappingProxyType({kind: w.count for kind, w in out.items()}),
        downloaded_packages=downloaded,
        on_demand_packages=len(packages) - downloaded,
        components=MappingProxyType(components),
    )
