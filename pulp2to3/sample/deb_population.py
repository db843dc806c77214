"""What the Debian part of a sample holds: repositories, their releases and components, and
packages, drawn from a seed.

Every repository but an empty last one (when there are several) has two releases: ``stable``
(codename ``ragnarok``, suite ``stable``) with components ``asgard`` and ``jotunheimr``, and
``ragnarok/updates/`` (a slash inside, one trailing, codename ``ragnarok``, suite null) with
components ``asgard`` and ``vanaheim`` (empty). Each package goes to one repository (or two,
``overlap``) and there to one component of each release; every third one also to
``jotunheimr``, so components share packages. The empty repository has no unit and its
importer no feed.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from bson import ObjectId

from .deb_files import deb_bytes
from .population import PULP2_ROOT, ObjectIds

ARCHITECTURES = ("amd64", "all", "arm64", "i386")
_WORDS = ("auk", "bison", "crane", "dingo", "emu", "fossa", "gecko", "hyena", "impala", "jackal")
_MAINTAINERS = ("Zoo Keeper <zoo@example.com>", "Zoë Ångström <zoe@example.com>")


@dataclass(frozen=True)
class ComponentSpec:
    name: str
    packages: tuple[int, ...]
    """Numbers of the packages in it."""


@dataclass(frozen=True)
class ReleaseSpec:
    distribution: str
    """As Pulp 2 kept it, slashes and all."""
    codename: str
    suite: str | None
    components: tuple[str, ...]
    empty_components: tuple[str, ...] = ()
    """Components that hold no package (Pulp 2 keeps them with an empty list)."""


RELEASES = (
    ReleaseSpec("stable", "ragnarok", "stable", ("asgard", "jotunheimr")),
    ReleaseSpec("ragnarok/updates/", "ragnarok", None, ("asgard",), ("vanaheim",)),
)


@dataclass(frozen=True)
class DebRepoSpec:
    index: int
    repo_id: str
    object_id: ObjectId
    importer_object_id: ObjectId
    distributor_object_id: ObjectId
    on_demand: bool
    feed: str | None
    """None: an importer without a feed (the empty repository's)."""
    last_sync: datetime
    empty: bool

    @property
    def releases(self) -> tuple[ReleaseSpec, ...]:
        return () if self.empty else RELEASES


@dataclass(frozen=True, slots=True)
class DebSpec:
    number: int
    unit_id: str
    name: str
    version: str
    architecture: str
    source: str | None
    fields: dict[str, str]
    """The control fields, in the package's order."""
    content: bytes
    checksum: str
    relative_path: str
    downloaded: bool
    repos: tuple[int, ...]
    added: datetime

    @property
    def filename(self) -> str:
        return f"{self.name}_{self.version}_{self.architecture}.deb"

    @property
    def storage_path(self) -> str:
        return f"{PULP2_ROOT}/{self.relative_path}"


def component_of(release: ReleaseSpec, number: int) -> tuple[str, ...]:
    """The components of ``release`` that hold package ``number``."""
    first = release.components[number % len(release.components)]
    shared = len(release.components) > 1 and number % 3 == 0
    return tuple(dict.fromkeys((first, release.components[-1]) if shared else (first,)))


def control_fields(number: int, name: str, version: str, architecture: str) -> dict[str, str]:
    """A package's control fields: multi-line descriptions, non-ASCII maintainers, a custom
    field Pulp 3 has no name for, and the optional ones on some packages only."""
    fields = {
        "Package": name,
        "Version": version,
        "Architecture": architecture,
        "Maintainer": _MAINTAINERS[number % len(_MAINTAINERS)],
        "Installed-Size": str(8 + number % 5),
    }
    if name.startswith("lib"):
        fields["Source"] = f"zoo{number % 4} ({version})"
        fields["Multi-Arch"] = "foreign" if architecture == "all" else "same"
    if number % 2:
        fields["Depends"] = "libc6 (>= 2.28), bash"
    fields.update(
        {
            "Section": "misc",
            "Priority": "optional",
            "X-Zoo-Enclosure": f"pen {number}",
            "Description": f"the {name} sample package\n It lives in the zoo.\n .\n"
            f" Number {number}, fed daily.",
        }
    )
    return fields


class DebPopulation:
    """The Debian repositories (built at once) and packages (yielded lazily)."""

    def __init__(
        self, *, seed: int, repos: int, units: int, on_demand: float, overlap: float
    ) -> None:
        self._rng = random.Random(f"deb-{seed}")
        self.seed = seed
        self.units = units
        self._on_demand = on_demand
        self._overlap = overlap
        self.start = datetime(2020, 1, 1) + timedelta(seconds=self._rng.randrange(365 * 86400))
        self.object_ids = ObjectIds(self._rng)
        empty = repos - 1 if repos > 1 else None
        full = repos - (empty is not None)
        on_demand_repos = round(full * on_demand) if full > 1 else int(on_demand >= 0.5)
        self.repos = [
            self._repo(index, index < on_demand_repos, index == empty) for index in range(repos)
        ]
        self._full = [repo.index for repo in self.repos if not repo.empty]
        self._units_seed = self._rng.getrandbits(64)

    def _repo(self, index: int, on_demand: bool, empty: bool) -> DebRepoSpec:
        rng = self._rng
        repo_id = f"deb-repo-{index:04d}"
        created = self.start - timedelta(days=30, seconds=rng.randrange(86400))
        return DebRepoSpec(
            index=index,
            repo_id=repo_id,
            object_id=self.object_ids.new(created),
            importer_object_id=self.object_ids.new(created),
            distributor_object_id=self.object_ids.new(created),
            on_demand=on_demand and not empty,
            feed=None if empty else f"https://deb.example.com/{repo_id}/",
            last_sync=created + timedelta(days=rng.randrange(1, 29)),
            empty=empty,
        )

    def _repos_of(self, rng: random.Random) -> tuple[int, ...]:
        chosen = [rng.choice(self._full)]
        if len(self._full) > 1 and rng.random() < self._overlap:
            chosen.append(rng.choice([index for index in self._full if index != chosen[0]]))
        return tuple(chosen)

    def packages(self) -> list[DebSpec]:
        """Every package, the same on every call (a sample holds few: built at once)."""
        rng = random.Random(self._units_seed)
        built = []
        for number in range(self.units if self._full else 0):
            repos = self._repos_of(rng)
            # Only a package that no immediate importer synced may lack its file.
            downloadable = all(self.repos[index].on_demand for index in repos)
            word = _WORDS[number % len(_WORDS)]
            name = f"lib{word}{number}" if number % 4 == 1 else f"{word}{number}"
            version = f"{1 + number % 3}.{number % 5}-{1 + number % 2}"
            architecture = ARCHITECTURES[number % len(ARCHITECTURES)]
            fields = control_fields(number, name, version, architecture)
            content = deb_bytes(
                fields, {f"usr/share/zoo/{name}": f"{self.seed} {number}\n".encode()}
            )
            folder = f"{rng.getrandbits(256):064x}"
            built.append(
                DebSpec(
                    number=number,
                    unit_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    name=name,
                    version=version,
                    architecture=architecture,
                    source=fields.get("Source"),
                    fields=fields,
                    content=content,
                    checksum=hashlib.sha256(content).hexdigest(),
                    relative_path=f"content/units/deb/{folder[:2]}/{folder[2:]}/"
                    f"{name}_{version}_{architecture}.deb",
                    downloaded=not downloadable or rng.random() >= self._on_demand,
                    repos=repos,
                    added=self.start + timedelta(seconds=60 * number),
                )
            )
        return built
