"""The ``create_distributions`` step: every distributor of a published plan version is served.

Each Pulp 2 distributor (of the plugin's distributor types) of the repositories a plan version
names in ``pulp2_distributor_repository_ids`` becomes a distribution of that version's
publication, at the base path its plugin gives (``Plugin.base_path``). A distributor named by
several plan versions serves the last of them. A distributor of a type the plugin reports as
having no Pulp 3 counterpart (``Plugin.unmigrated_distributor_types``) is a failure naming it.

Base paths are unique. The database decides who gets one: distributions are inserted with
``ON CONFLICT DO NOTHING`` (a base path that a concurrent batch holds waits for that batch, then
counts as taken), and a distributor whose base path turns out to be served by another
distribution is a per-distribution failure naming that distribution, never an exception.
As in Pulp 3, base paths do not overlap either (``a`` and ``a/b``): a batch locks the first
segments of its base paths, so batches whose paths could overlap run that check one at a time,
and a base path overlapping another distribution's, or an earlier one of the batch (in base
path order), is a failure too.
A batch run again finds its distributions (by the recorded mapping, or by name at the same base
path) and only re-points them at their publication.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import asyncpg
import structlog

from pulp2to3.actors.planned import (
    PlannedRepository,
    chunked_batches,
    planned_repositories,
    published_versions,
)
from pulp2to3.actors.steps import Batch, BatchResult, Migration, make_step
from pulp2to3.plugins import InvalidBasePath
from pulp2to3.store import publications as store
from pulp2to3.store.progress import Created
from pulp2to3.store.tasks import ResourceKind

log = structlog.get_logger(__name__)

STEP_CODE = "create_distributions"
# A distribution costs little next to what each batch pays (its job, its transaction, the
# lock of its base paths' first segments): 1,303 distributors took 0.5-0.6 s in 14 batches,
# 0.7-1.5 s in 66 of 20 (benchmarks/repository_steps.py, 1,000,000 units).
DISTRIBUTIONS_PER_BATCH = 100


class DistributorItem(NamedTuple):
    """One distributor of a batch, a JSON array in the job's arguments: the plan version whose
    publication it serves, and the Pulp 2 distributor."""

    repository: str
    number: int
    pulp2_repo_id: str
    distributor_id: str


def distribution_name(repository_name: str, pulp2_repo_id: str, distributor_id: str) -> str:
    """``<repository>-<distributor>``; with the Pulp 2 repo id between them when the
    distributor belongs to a Pulp 2 repository of another name (several may feed one version).
    """
    if pulp2_repo_id == repository_name:
        return f"{repository_name}-{distributor_id}"
    return f"{repository_name}-{pulp2_repo_id}-{distributor_id}"


def distributor_label(pulp2_repo_id: str, distributor_id: str) -> str:
    """How a failure names a Pulp 2 distributor."""
    return f"{pulp2_repo_id}/{distributor_id}"


async def plan_distribution_batches(
    connection: asyncpg.Connection, migration: Migration
) -> list[Batch]:
    """Up to ``DISTRIBUTIONS_PER_BATCH`` distributors per batch; a unit is a distribution."""
    planned = planned_repositories(migration.plan)
    # (repo id, distributor types) -> the plan versions that name it, in plan order
    named_by: dict[tuple[str, tuple[str, ...]], list[tuple[str, int]]] = {}
    for repository, number, version in published_versions(planned):
        for repo_id in version.pulp2_distributor_repository_ids:
            key = (repo_id, repository.plugin.reported_distributor_types)
            named_by.setdefault(key, []).append((repository.name, number))
    items: dict[tuple[str, str], list[Any]] = {}
    by_types: dict[tuple[str, ...], set[str]] = {}
    for repo_id, types in named_by:
        by_types.setdefault(types, set()).add(repo_id)
    for types, repo_ids in sorted(by_types.items()):
        for distributor in await store.pulp2_distributors(connection, repo_ids, types):
            name, number = named_by[distributor.pulp2_repo_id, types][-1]
            items[distributor.pulp2_repo_id, distributor.distributor_id] = list(
                DistributorItem(name, number, distributor.pulp2_repo_id, distributor.distributor_id)
            )
    ordered = [items[key] for key in sorted(items)]
    return chunked_batches("distributions", "distributors", ordered, DISTRIBUTIONS_PER_BATCH)


@dataclasses.dataclass(frozen=True)
class _Candidate:
    """A distributor and the distribution it should become."""

    distributor: store.Pulp2Distributor
    pulp_type: str
    name: str
    base_path: str
    publication_id: int

    @property
    def label(self) -> str:
        return distributor_label(self.distributor.pulp2_repo_id, self.distributor.distributor_id)


def _candidates(
    items: Sequence[DistributorItem],
    planned: Mapping[str, PlannedRepository],
    distributors: Mapping[tuple[str, str], store.Pulp2Distributor],
    versions: Mapping[tuple[str, int], store.PlannedVersion],
) -> tuple[list[_Candidate], list[tuple[str, str]]]:
    candidates: list[_Candidate] = []
    failures: list[tuple[str, str]] = []
    for item in items:
        label = distributor_label(item.pulp2_repo_id, item.distributor_id)
        distributor = distributors.get((item.pulp2_repo_id, item.distributor_id))
        if distributor is None:
            failures.append((label, "the distributor is no longer in the staged dump"))
            continue
        version = versions.get((item.repository, item.number))
        if version is None or version.publication_id is None:
            failures.append(
                (label, f"repository {item.repository!r} version {item.number} has no publication")
            )
            continue
        plugin = planned[item.repository].plugin
        if distributor.distributor_type_id in plugin.unmigrated_distributor_types:
            failures.append(
                (
                    label,
                    f"{distributor.distributor_type_id} has no Pulp 3 counterpart: not migrated",
                )
            )
            continue
        try:
            base_path = plugin.base_path(distributor.config, item.pulp2_repo_id)
        except InvalidBasePath as exc:
            failures.append((label, str(exc)))
            continue
        candidates.append(
            _Candidate(
                distributor=distributor,
                pulp_type=plugin.pulp3.distribution,
                name=distribution_name(item.repository, item.pulp2_repo_id, item.distributor_id),
                base_path=base_path,
                publication_id=version.publication_id,
            )
        )
    return candidates, failures


def overlaps(base_path: str, other: str) -> bool:
    """Whether one of two base paths is a folder of the other."""
    return base_path.startswith(other + "/") or other.startswith(base_path + "/")


async def _without_overlaps(
    connection: asyncpg.Connection, candidates: Sequence[_Candidate]
) -> tuple[list[_Candidate], list[tuple[str, str]]]:
    """The candidates whose base path overlaps no other distribution's and no earlier
    candidate's; the others as failures."""
    if not candidates:
        return [], []
    existing = await store.overlapping_distributions(connection, [c.base_path for c in candidates])
    kept: list[_Candidate] = []
    failures: list[tuple[str, str]] = []
    for candidate in sorted(candidates, key=lambda c: (c.base_path, c.name)):
        mapped = candidate.distributor.pulp3_distribution_id
        clashes = [
            (d.base_path, d.name)
            for d in existing.get(candidate.base_path, ())
            if d.id != mapped and d.name != candidate.name
        ] + [(c.base_path, c.name) for c in kept if overlaps(c.base_path, candidate.base_path)]
        if clashes:
            other, name = clashes[0]
            failures.append(
                (
                    candidate.label,
                    f"base path {candidate.base_path!r} overlaps base path {other!r} of"
                    f" distribution {name!r}",
                )
            )
        else:
            kept.append(candidate)
    return kept, failures


async def _settle(
    connection: asyncpg.Connection, candidates: Sequence[_Candidate]
) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Find the candidates that were not inserted: ours from an earlier migration, or refused."""
    holders = await store.distribution_holders(
        connection,
        [c.name for c in candidates],
        [c.base_path for c in candidates],
        [
            c.distributor.pulp3_distribution_id
            for c in candidates
            if c.distributor.pulp3_distribution_id
        ],
    )
    by_base = {d.base_path: d for d in holders}
    by_name = {d.name: d for d in holders}
    by_id = {d.id: d for d in holders}
    ours: dict[str, int] = {}
    repoint: dict[int, int] = {}
    failures: list[tuple[str, str]] = []
    for candidate in candidates:
        mapped = candidate.distributor.pulp3_distribution_id
        holder = by_base.get(candidate.base_path)
        if holder is not None and (holder.id == mapped or holder.name == candidate.name):
            ours[candidate.label] = holder.id
            if holder.publication_id != candidate.publication_id:
                repoint[holder.id] = candidate.publication_id
        elif holder is not None:
            failures.append((candidate.label, _taken(candidate.base_path, holder.name)))
        elif mapped is not None and mapped in by_id:
            # Ours from an earlier migration, but the distributor's relative_url changed since.
            if await store.move_distribution(
                connection, mapped, candidate.base_path, candidate.publication_id
            ):
                ours[candidate.label] = mapped
            else:
                failures.append((candidate.label, await _taken_now(connection, candidate)))
        elif candidate.name in by_name:
            failures.append(
                (
                    candidate.label,
                    f"name {candidate.name!r} is already used by the distribution at base path "
                    f"{by_name[candidate.name].base_path!r}",
                )
            )
        else:
            failures.append((candidate.label, await _taken_now(connection, candidate)))
    if repoint:
        await store.set_distribution_publications(connection, repoint)
    return ours, failures


def _taken(base_path: str, holder: str) -> str:
    return f"base path {base_path!r} is already served by distribution {holder!r}"


async def _taken_now(connection: asyncpg.Connection, candidate: _Candidate) -> str:
    holders = await store.distribution_holders(connection, [], [candidate.base_path], [])
    if holders:
        return _taken(candidate.base_path, holders[0].name)
    return f"base path {candidate.base_path!r} could not be taken; run the migration again"


async def create_distributions(
    connection: asyncpg.Connection, migration: Migration, args: Mapping[str, Any]
) -> BatchResult:
    """Distributions of the batch's distributors; a taken base path is a failure."""
    planned = planned_repositories(migration.plan)
    items = [DistributorItem(*item) for item in args["distributors"]]
    types = sorted(
        {t for item in items for t in planned[item.repository].plugin.reported_distributor_types}
    )
    staged = await store.pulp2_distributors(
        connection, {item.pulp2_repo_id for item in items}, types
    )
    distributors = {(d.pulp2_repo_id, d.distributor_id): d for d in staged}
    versions = await store.planned_versions(
        connection, {(item.repository, item.number) for item in items}
    )
    candidates, failures = _candidates(items, planned, distributors, versions)
    candidates, overlapping = await _without_overlaps(connection, candidates)
    failures.extend(overlapping)
    inserted: dict[str, int] = {}
    for pulp_type in sorted({c.pulp_type for c in candidates}):
        inserted.update(
            await store.insert_distributions(
                connection,
                pulp_type,
                [
                    store.NewDistribution(c.name, c.base_path, c.publication_id)
                    for c in candidates
                    if c.pulp_type == pulp_type
                ],
            )
        )
    ours = {c.label: inserted[c.name] for c in candidates if c.name in inserted}
    settled, refused = await _settle(connection, [c for c in candidates if c.name not in inserted])
    ours.update(settled)
    failures.extend(refused)
    await store.mark_distributors(
        connection,
        {
            c.distributor.pulp2_object_id: store.Served(ours[c.label], c.publication_id)
            for c in candidates
            if c.label in ours
        },
    )
    log.info(
        "distributions_created",
        step=STEP_CODE,
        created=len(inserted),
        existing=len(ours) - len(inserted),
        failed=len(failures),
    )
    return BatchResult(
        done=len(ours),
        failures=tuple(failures),
        created=tuple(Created(ResourceKind.DISTRIBUTION, did) for did in sorted(inserted.values())),
    )


STEP = make_step(
    STEP_CODE,
    "Create distributions serving the publications at their Pulp 2 paths",
    create_distributions,
    plan_distribution_batches,
)
