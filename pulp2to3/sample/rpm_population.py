"""What the RPM part of a sample holds: repositories, and packages in blocks, drawn from a seed.

Packages come in blocks of :data:`BLOCK` that share their repositories: the first
:data:`MODULAR_PER_BLOCK` of a block are the artifacts of the block's module, the last of a
full block is a source package, and the block's erratum lists its first
:data:`ERRATUM_PACKAGES` packages (the modular ones in a modular collection). Blocks are made
one at a time, so memory does not grow with the number of packages.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from bson import ObjectId

from .population import PULP2_ROOT, ObjectIds

BLOCK = 10
MODULAR_PER_BLOCK = 2
ERRATUM_PACKAGES = 5
_WORDS = ("bear", "camel", "duck", "eel", "frog", "gnu", "horse", "ibis", "kiwi", "lynx")
_ARCHES = ("x86_64", "noarch", "x86_64", "i686")
_RELATIVE_URLS = (None, "{repo_id}", "/rpm/{repo_id}/", "{repo_id}/")
_CHECKSUM_TYPES = (None, "sha256", "sha", None)


@dataclass(frozen=True)
class RpmRepoSpec:
    index: int
    repo_id: str
    object_id: ObjectId
    importer_object_id: ObjectId
    distributor_object_id: ObjectId
    export_object_id: ObjectId | None
    """An ``export_distributor`` beside the yum one (it has no Pulp 3 counterpart)."""
    on_demand: bool
    feed: str
    last_sync: datetime
    relative_url: str | None
    checksum_type: str | None
    generate_sqlite: bool


@dataclass(frozen=True, slots=True)
class PackageSpec:
    number: int
    unit_id: str
    content_type: str  # rpm or srpm
    name: str
    epoch: str
    version: str
    release: str
    arch: str
    content: bytes
    checksum: str
    relative_path: str
    downloaded: bool
    repos: tuple[int, ...]
    added: datetime
    modular: bool

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.version}-{self.release}.{self.arch}.rpm"

    @property
    def location(self) -> str:
        """Where Pulp 2 published the package, relative to the repository."""
        return f"Packages/{self.filename[0].lower()}/{self.filename}"

    @property
    def nevra(self) -> str:
        return f"{self.name}-{self.epoch}:{self.version}-{self.release}.{self.arch}"

    @property
    def storage_path(self) -> str:
        return f"{PULP2_ROOT}/{self.relative_path}"


@dataclass(frozen=True)
class ModuleSpec:
    unit_id: str
    name: str
    stream: str
    version: int
    context: str
    arch: str
    packages: tuple[PackageSpec, ...]
    repos: tuple[int, ...]
    added: datetime
    relative_path: str
    with_defaults: bool


@dataclass(frozen=True)
class ErratumSpec:
    unit_id: str
    errata_id: str
    kind: str
    issued: str
    updated: str
    packages: tuple[PackageSpec, ...]
    module: ModuleSpec
    repos: tuple[int, ...]
    added: datetime


@dataclass(frozen=True)
class Block:
    packages: tuple[PackageSpec, ...]
    module: ModuleSpec
    erratum: ErratumSpec


def package_name(number: int) -> str:
    """The name of the package ``number`` (a function of it alone, so comps can name it)."""
    return f"{_WORDS[number % len(_WORDS)]}-{number:06d}"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def unit_folder(rng: random.Random, content_type: str) -> str:
    folder = f"{rng.getrandbits(256):064x}"
    return f"content/units/{content_type}/{folder[:2]}/{folder[2:]}"


def _issued_text(moment: datetime, shape: int) -> str:
    # The three ways Pulp 2 errata carry a date.
    if shape == 0:
        return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    if shape == 1:
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%Y-%m-%d %H:%M:%S")


class RpmPopulation:
    """The RPM repositories (built at once) and package blocks (yielded lazily)."""

    def __init__(
        self, *, seed: int, repos: int, units: int, on_demand: float, overlap: float
    ) -> None:
        self._rng = random.Random(f"rpm-{seed}")
        self.seed = seed
        self.units = units
        self._on_demand = on_demand
        self._overlap = overlap
        self.start = datetime(2019, 1, 1) + timedelta(seconds=self._rng.randrange(365 * 86400))
        self.object_ids = ObjectIds(self._rng)
        on_demand_repos = round(repos * on_demand) if repos > 1 else int(on_demand >= 0.5)
        self.repos = [self._repo(index, index < on_demand_repos) for index in range(repos)]
        self._blocks_seed = self._rng.getrandbits(64)

    def _repo(self, index: int, on_demand: bool) -> RpmRepoSpec:
        rng = self._rng
        repo_id = f"rpm-repo-{index:04d}"
        created = self.start - timedelta(days=30, seconds=rng.randrange(86400))
        shape = _RELATIVE_URLS[index % len(_RELATIVE_URLS)]
        return RpmRepoSpec(
            index=index,
            repo_id=repo_id,
            object_id=self.object_ids.new(created),
            importer_object_id=self.object_ids.new(created),
            distributor_object_id=self.object_ids.new(created),
            export_object_id=self.object_ids.new(created) if index % 2 == 0 else None,
            on_demand=on_demand,
            feed=f"https://cdn.example.com/rpm/{repo_id}/",
            last_sync=created + timedelta(days=rng.randrange(1, 29)),
            relative_url=None if shape is None else shape.format(repo_id=repo_id),
            checksum_type=_CHECKSUM_TYPES[index % len(_CHECKSUM_TYPES)],
            generate_sqlite=index % 3 == 1,
        )

    @property
    def block_count(self) -> int:
        return -(-self.units // BLOCK)

    def _block_repos(self, rng: random.Random) -> tuple[int, ...]:
        chosen = [rng.randrange(len(self.repos))]
        if len(self.repos) > 1 and rng.random() < self._overlap:
            other = rng.randrange(len(self.repos) - 1)
            chosen.append(other if other < chosen[0] else other + 1)
        return tuple(chosen)

    def _package(
        self, rng: random.Random, number: int, repos: tuple[int, ...], downloadable: bool
    ) -> PackageSpec:
        source = number % BLOCK == BLOCK - 1
        name = package_name(number)
        arch = "src" if source else _ARCHES[number % len(_ARCHES)]
        content = f"pulp2to3 sample {self.seed} rpm {number}\n".encode() * (1 + number % 4)
        return PackageSpec(
            number=number,
            unit_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            content_type="srpm" if source else "rpm",
            name=name,
            epoch="1" if number % 7 == 3 else "0",
            version=f"{1 + number % 5}.{number % 3}",
            release=f"{1 + number % 2}.el8",
            arch=arch,
            content=content,
            checksum=sha256(content),
            relative_path=f"{unit_folder(rng, 'rpm')}/{name}.rpm",
            downloaded=not downloadable or rng.random() >= self._on_demand,
            repos=repos,
            added=self.start + timedelta(seconds=30 * number),
            modular=number % BLOCK < MODULAR_PER_BLOCK,
        )

    def blocks(self) -> Iterator[Block]:
        """The package blocks in order, the same on every call."""
        rng = random.Random(self._blocks_seed)
        for index in range(self.block_count):
            repos = self._block_repos(rng)
            # Only a package that no immediate importer synced may lack its file.
            downloadable = all(self.repos[repo].on_demand for repo in repos)
            first = index * BLOCK
            packages = tuple(
                self._package(rng, number, repos, downloadable)
                for number in range(first, min(first + BLOCK, self.units))
            )
            added = packages[-1].added
            module = ModuleSpec(
                unit_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                name=f"zoo-{index:05d}",
                stream=str(1 + index % 2),
                version=20190101000000 + index,
                context=f"{rng.getrandbits(32):08x}",
                arch="x86_64",
                packages=tuple(p for p in packages if p.modular),
                repos=repos,
                added=added,
                relative_path=f"{unit_folder(rng, 'modulemd')}/modulemd.yaml",
                with_defaults=index % 2 == 0,
            )
            erratum = ErratumSpec(
                unit_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                errata_id=f"SAMPLE-{added.year}:{index:05d}",
                kind=("security", "bugfix", "enhancement")[index % 3],
                issued=_issued_text(added, index % 3),
                updated=_issued_text(added + timedelta(days=1), (index + 1) % 3),
                packages=packages[:ERRATUM_PACKAGES],
                module=module,
                repos=repos,
                added=added,
            )
            yield Block(packages=packages, module=module, erratum=erratum)
