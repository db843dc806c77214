"""Write the RPM part of a sample: its collections in the dump, its files in the Pulp 2 tree."""

from __future__ import annotations

import os
import random
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import MappingProxyType

from . import rpm_documents as docs
from .rpm_population import ModuleSpec, RpmPopulation, RpmRepoSpec, sha256, unit_folder
from .writer import CollectionWriter, DumpWriter

UNIT_TYPES = (
    "rpm",
    "srpm",
    "erratum",
    "modulemd",
    "modulemd_defaults",
    "package_group",
    "package_category",
    "package_environment",
    "package_langpacks",
    "distribution",
    "yum_repo_metadata_file",
)
SKIPPED_METADATA_TYPE = "primary_zck"
"""A data type the migration skips; the first repository holds one."""


@dataclass(frozen=True)
class SharedCollections:
    """The collections the ISO and RPM parts of a sample both write to."""

    repos: CollectionWriter
    importers: CollectionWriter
    distributors: CollectionWriter
    memberships: CollectionWriter
    lazy: CollectionWriter


@dataclass(frozen=True)
class RpmSampleSummary:
    repos: int
    unit_counts: Mapping[str, int]
    """Units written per Pulp 2 content type."""
    downloaded_packages: int
    on_demand_packages: int
    multi_repo_packages: int
    pkglists: int


class _Writer:
    """The RPM collections and the running per-repository tallies."""

    def __init__(
        self, writer: DumpWriter, shared: SharedCollections, root: Path, population: RpmPopulation
    ) -> None:
        self.shared = shared
        self.root = root
        self.repos = population.repos
        self.ids = population.object_ids
        self.units = {
            kind: writer.collection(f"units_{kind}", unique=[("_id",)]) for kind in UNIT_TYPES
        }
        self.pkglists = writer.collection("erratum_pkglists", unique=[("errata_id", "repo_id")])
        self.repo_counts: list[Counter[str]] = [Counter() for _ in self.repos]
        self.last_added: list[datetime | None] = [None] * len(self.repos)
        self._rng = random.Random(f"rpm-extra-{population.seed}")

    def new_unit_id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def unit_ids(self) -> Iterator[str]:
        while True:
            yield self.new_unit_id()

    def folder(self, kind: str) -> str:
        return unit_folder(self._rng, kind)

    def write_file(self, relative_path: str, data: bytes) -> None:
        path = os.path.join(self.root, relative_path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(data)

    def unit(self, document: docs.Document, repos: tuple[int, ...], added: datetime) -> None:
        kind = document["_content_type_id"]
        self.units[kind].write(document)
        for membership in docs.membership_documents(
            document["_id"], kind, repos, self.repos, self.ids, added
        ):
            self.shared.memberships.write(membership)
        for index in repos:
            self.repo_counts[index][kind] += 1
            self.last_added[index] = added

    def lazy(
        self,
        document: docs.Document,
        url_path: str,
        storage_path: str,
        checksum: str,
        repos: tuple[int, ...],
        added: datetime,
    ) -> None:
        for entry in docs.lazy_documents(
            document["_id"],
            document["_content_type_id"],
            url_path,
            storage_path,
            checksum,
            tuple(index for index in repos if self.repos[index].on_demand),
            self.repos,
            self.ids,
            added,
        ):
            self.shared.lazy.write(entry)


def write_rpm_sample(
    writer: DumpWriter, shared: SharedCollections, root: Path, population: RpmPopulation
) -> RpmSampleSummary:
    """Every RPM-family collection of ``population``; files under ``root``."""
    out = _Writer(writer, shared, root, population)
    downloaded = multi_repo = 0
    for block in population.blocks():
        for package in block.packages:
            document = docs.package_document(package)
            out.unit(document, package.repos, package.added)
            multi_repo += len(package.repos) > 1
            if package.downloaded:
                downloaded += 1
                out.write_file(package.relative_path, package.content)
            else:
                out.lazy(
                    document,
                    package.location,
                    package.storage_path,
                    package.checksum,
                    package.repos,
                    package.added,
                )
        _write_module(out, block.module)
        out.unit(docs.erratum_document(block.erratum), block.erratum.repos, block.erratum.added)
        for index in block.erratum.repos:
            out.pkglists.write(docs.pkglist_document(block.erratum, out.repos[index], out.ids))
    for repo in population.repos:
        _write_repo_extras(out, repo, population)
    if population.repos:
        _write_distribution(out, population.repos[0], population.start)
    for repo in population.repos:
        shared.repos.write(
            docs.repo_document(repo, dict(out.repo_counts[repo.index]), out.last_added[repo.index])
        )
        shared.importers.write(docs.importer_document(repo))
        for distributor in docs.distributor_documents(repo):
            shared.distributors.write(distributor)
    packages = population.units
    return RpmSampleSummary(
        repos=len(population.repos),
        unit_counts=MappingProxyType({kind: w.count for kind, w in out.units.items()}),
        downloaded_packages=downloaded,
        on_demand_packages=packages - downloaded,
        multi_repo_packages=multi_repo,
        pkglists=out.pkglists.count,
    )


def _write_module(out: _Writer, module: ModuleSpec) -> None:
    yaml = docs.module_yaml(module).encode()
    out.write_file(module.relative_path, yaml)
    out.unit(docs.module_document(module, yaml.decode(), sha256(yaml)), module.repos, module.added)
    if not module.with_defaults:
        return
    repo = out.repos[module.repos[0]]
    defaults = docs.defaults_yaml(module).encode()
    path = f"{out.folder('modulemd_defaults')}/defaults.yaml"
    out.write_file(path, defaults)
    document = docs.defaults_document(module, repo, out.new_unit_id(), path, sha256(defaults))
    out.unit(document, (repo.index,), module.added)


def _write_repo_extras(out: _Writer, repo: RpmRepoSpec, population: RpmPopulation) -> None:
    at = repo.last_sync
    for document in docs.comps_documents(repo, out.unit_ids(), at, population.units):
        out.unit(document, (repo.index,), at)
    data_types = ["productid"] + ([SKIPPED_METADATA_TYPE] if repo.index == 0 else [])
    for data_type in data_types:
        data = f"{data_type} of {repo.repo_id}\n".encode()
        path = f"{out.folder('yum_repo_metadata_file')}/{data_type}"
        out.write_file(path, data)
        document = docs.metadata_file_document(
            repo, out.new_unit_id(), data_type, path, sha256(data), at
        )
        out.unit(document, (repo.index,), at)


def _write_distribution(out: _Writer, repo: RpmRepoSpec, start: datetime) -> None:
    folder = out.folder("distribution")
    images = {path: f"kernel bytes of {path}\n".encode() for path in docs.TREE_IMAGES}
    checksums = {path: sha256(data) for path, data in images.items()}
    timestamp = int(start.timestamp())
    # Pulp 2 always fetches .treeinfo; the images only when the importer is immediate.
    out.write_file(f"{folder}/.treeinfo", docs.treeinfo_text(timestamp, checksums).encode())
    out.write_file(f"{folder}/PULP_DISTRIBUTION.xml", b'<pulp_distribution version="1"/>\n')
    downloaded = not repo.on_demand
    document = docs.distribution_document(
        out.new_unit_id(), folder, downloaded, timestamp, checksums, start
    )
    out.unit(document, (repo.index,), start)
    for path, data in images.items():
        if downloaded:
            out.write_file(f"{folder}/{path}", data)
        else:
            out.lazy(
                document,
                path,
                f"{document['_storage_path']}/{path}",
                checksums[path],
                (repo.index,),
                start,
            )
