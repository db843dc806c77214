"""What a sample Pulp 2 installation holds: ISO repositories and units, drawn from one seed.

Everything random comes from ``random.Random(seed)`` consumed in a fixed order, so a seed
always gives the same population. Units are produced lazily, one at a time.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from bson import ObjectId

PULP2_ROOT = "/var/lib/pulp"
SHARED_CONTENT_RATE = 0.02
"""Fraction of units whose file has the same bytes as the previous unit's (one artifact)."""
REVISABLE_UNITS = 1000
"""How many of the latest units a new revision may revise (memory stays bounded)."""

_RELATIVE_URL_SHAPES = (None, "{repo_id}", "/{repo_id}", "{repo_id}/", "/iso/{repo_id}/")


class ObjectIds:
    """ObjectIds shaped like MongoDB's: creation time, a per-process random part, a counter."""

    def __init__(self, rng: random.Random) -> None:
        self._process = rng.randbytes(5)
        self._counter = rng.getrandbits(24)

    def new(self, at: datetime) -> ObjectId:
        self._counter = (self._counter + 1) & 0xFFFFFF
        seconds = int((at - datetime(1970, 1, 1)).total_seconds())
        return ObjectId(
            seconds.to_bytes(4, "big") + self._process + self._counter.to_bytes(3, "big")
        )


@dataclass(frozen=True)
class DistributorSpec:
    distributor_id: str
    object_id: ObjectId
    relative_url: str | None
    serve_http: bool
    serve_https: bool
    auto_publish: bool
    last_publish: datetime | None
    last_updated: datetime


@dataclass(frozen=True)
class RepoSpec:
    index: int
    repo_id: str
    object_id: ObjectId
    importer_object_id: ObjectId
    on_demand: bool
    policy_written: bool
    """False for some immediate importers: Pulp 2 then has no ``download_policy`` key."""
    feed: str
    last_sync: datetime
    distributors: tuple[DistributorSpec, ...]


@dataclass(frozen=True, slots=True)
class UnitSpec:
    unit_id: str
    name: str
    content: bytes
    checksum: str
    relative_path: str
    """The file's path under the Pulp 2 root."""
    downloaded: bool
    repos: tuple[int, ...]
    """Indexes of the repositories holding the unit; the first is where it was synced from."""
    added: datetime
    shares_content: bool
    """Same file bytes as the unit before it."""

    @property
    def size(self) -> int:
        return len(self.content)

    @property
    def storage_path(self) -> str:
        return f"{PULP2_ROOT}/{self.relative_path}"


def file_content(seed: int, content_id: int) -> bytes:
    """A few dozen deterministic bytes, different for every ``content_id``."""
    return f"pulp2to3 sample {seed} content {content_id}\n".encode() * (1 + content_id % 3)


def _on_demand_repo_count(repos: int, fraction: float) -> int:
    # Undownloaded units need an on_demand importer, downloaded ones prefer an immediate one.
    if fraction <= 0:
        return 0
    if fraction >= 1 or repos == 1:
        return repos
    return min(max(round(repos * fraction), 1), repos - 1)


class Population:
    """The repositories (built at once) and the units (yielded lazily) of a sample."""

    def __init__(
        self,
        *,
        seed: int,
        repos: int,
        units: int,
        on_demand: float,
        overlap: float,
        revisions: float = 0.0,
    ) -> None:
        self.seed = seed
        self._rng = random.Random(seed)
        self._units = units
        self._on_demand = on_demand
        self._overlap = overlap
        self._revisions = revisions
        self.start = datetime(2018, 1, 1) + timedelta(seconds=self._rng.randrange(365 * 86400))
        self.object_ids = ObjectIds(self._rng)
        on_demand_repos = _on_demand_repo_count(repos, on_demand)
        self.repos = [self._repo(index, index < on_demand_repos) for index in range(repos)]
        self._on_demand_pool = [repo.index for repo in self.repos if repo.on_demand]
        immediate = [repo.index for repo in self.repos if not repo.on_demand]
        self._immediate_pool = immediate or [repo.index for repo in self.repos]
        self._all_pool = [repo.index for repo in self.repos]
        self._units_seed = self._rng.getrandbits(64)

    def _distributor(
        self, index: int, repo_id: str, number: int, created: datetime
    ) -> DistributorSpec:
        rng = self._rng
        # In turn, so that five repositories show every shape. Without relative_url Pulp 2
        # publishes at the repo_id: only the first distributor may omit it.
        shapes = _RELATIVE_URL_SHAPES if number == 0 else _RELATIVE_URL_SHAPES[1:]
        shape = shapes[index % len(shapes)]
        path = repo_id if number == 0 else f"{repo_id}-{number}"
        published = rng.random() >= 0.2
        return DistributorSpec(
            distributor_id="iso_distributor" if number == 0 else f"iso_distributor_{number}",
            object_id=self.object_ids.new(created),
            relative_url=None if shape is None else shape.format(repo_id=path),
            serve_http=rng.random() < 0.5,
            serve_https=rng.random() < 0.9,
            auto_publish=rng.random() < 0.7,
            last_publish=created + timedelta(days=rng.randrange(1, 29)) if published else None,
            last_updated=created + timedelta(seconds=rng.randrange(86400)),
        )

    def _repo(self, index: int, on_demand: bool) -> RepoSpec:
        rng = self._rng
        repo_id = f"iso-repo-{index:04d}"
        created = self.start - timedelta(days=30, seconds=rng.randrange(86400))
        distributors = tuple(
            self._distributor(index, repo_id, number, created)
            for number in range(1 + (rng.random() < 0.3))
        )
        return RepoSpec(
            index=index,
            repo_id=repo_id,
            object_id=self.object_ids.new(created),
            importer_object_id=self.object_ids.new(created),
            on_demand=on_demand,
            policy_written=on_demand or index % 3 != 2,
            feed=f"https://cdn.example.com/isos/{repo_id}/",
            last_sync=created + timedelta(days=rng.randrange(1, 29)),
            distributors=distributors,
        )

    def _pick_repos(
        self, rng: random.Random, primary_pool: list[int], extra_pool: list[int]
    ) -> tuple[int, ...]:
        chosen = [rng.choice(primary_pool)]
        if rng.random() < self._overlap:
            extras = min(1 + (rng.random() < 0.3), len(extra_pool) - 1)
            while len(chosen) < 1 + extras:
                candidate = rng.choice(extra_pool)
                if candidate not in chosen:
                    chosen.append(candidate)
        return tuple(chosen)

    def units(self) -> Iterator[UnitSpec]:
        """The units in order, the same on every call.

        A fraction ``revisions`` of them is a new revision of a recent unit's file: its name,
        its repositories and download state, other bytes, as Pulp 2 keeps both units when a
        file changes upstream and the importer does not remove missing units. (Without
        revisions, no random number is drawn for them: the other units stay the same.)
        """
        rng = random.Random(self._units_seed)
        content_id = 0
        recent: deque[tuple[str, tuple[int, ...], bool]] = deque(maxlen=REVISABLE_UNITS)
        for number in range(self._units):
            downloaded = rng.random() >= self._on_demand
            if downloaded:
                repos = self._pick_repos(rng, self._immediate_pool, self._all_pool)
            else:
                # An immediate importer would have downloaded it: only on_demand repos hold it.
                repos = self._pick_repos(rng, self._on_demand_pool, self._on_demand_pool)
            shares = number > 0 and rng.random() < SHARED_CONTENT_RATE
            name = f"sample-{number:07d}.iso"
            if self._revisions and recent and rng.random() < self._revisions:
                name, repos, downloaded = recent[rng.randrange(len(recent))]
                shares = False
            recent.append((name, repos, downloaded))
            if not shares:
                content_id = number
            content = file_content(self.seed, content_id)
            folder = f"{rng.getrandbits(256):064x}"
            added = self.start + timedelta(seconds=30 * number)
            yield UnitSpec(
                unit_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                name=name,
                content=content,
                checksum=hashlib.sha256(content).hexdigest(),
                relative_path=f"content/units/iso/{folder[:2]}/{folder[2:]}/{name}",
                downloaded=downloaded,
                repos=repos,
                added=added,
                shares_content=shares,
            )
