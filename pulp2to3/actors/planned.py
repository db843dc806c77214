"""The expanded plan as the repository steps read it, and how they cut it into batches.

Shared by create_repositories, create_repo_versions, create_publications and
create_distributions, which do not import each other.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TypeVar

from pulp2to3.actors.steps import Batch
from pulp2to3.plan import Plan, RepositoryPlan, VersionPlan
from pulp2to3.plugins import Plugin
from pulp2to3.plugins.registry import PLUGINS

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class PlannedRepository:
    """A repository of the (expanded) plan, with its plugin."""

    plugin: Plugin
    plan: RepositoryPlan

    @property
    def name(self) -> str:
        return self.plan.name

    def numbered_versions(self) -> Iterator[tuple[int, VersionPlan]]:
        """The plan's versions with their numbers: version ``n`` is the ``n``-th, from 1."""
        return enumerate(self.plan.versions, start=1)

    def version(self, number: int) -> VersionPlan:
        """The plan version that becomes version ``number`` (from 1)."""
        return self.plan.versions[number - 1]


def planned_repositories(plan: Plan) -> dict[str, PlannedRepository]:
    """The plan's repositories by name, in plan order (a name given twice: the first counts)."""
    planned: dict[str, PlannedRepository] = {}
    for plugin in plan.plugins:
        for repository in plugin.repositories or ():
            planned.setdefault(repository.name, PlannedRepository(PLUGINS[plugin.type], repository))
    return planned


def resolve(plan: Plan, names: Sequence[str]) -> list[PlannedRepository]:
    """The plan repositories a batch names (its args come from the same plan)."""
    planned = planned_repositories(plan)
    missing = [name for name in names if name not in planned]
    if missing:
        raise LookupError(f"repositories not in the plan: {', '.join(missing)}")
    return [planned[name] for name in names]


def published_versions(
    planned: Mapping[str, PlannedRepository],
) -> Iterator[tuple[PlannedRepository, int, VersionPlan]]:
    """The plan versions that name Pulp 2 distributor repositories, with their numbers, in plan
    order: the versions that are published, and whose distributors become distributions."""
    for repository in planned.values():
        for number, version in repository.numbered_versions():
            if version.pulp2_distributor_repository_ids:
                yield repository, number, version


def version_label(repository: str, number: int) -> str:
    """How a failure names a repository version."""
    return f"{repository} version {number}"


def chunked(items: Sequence[T], size: int) -> list[list[T]]:
    return [list(items[start : start + size]) for start in range(0, len(items), size)]


def chunked_batches(
    prefix: str,
    arg: str,
    items: Sequence[T],
    size: int,
    units: Callable[[list[T]], int] = len,
) -> list[Batch]:
    """``items`` in batches of up to ``size``: batch ``<prefix>-<index>`` has its chunk as
    ``args[arg]`` and ``units(chunk)`` units (by default one per item)."""
    return [
        Batch(key=f"{prefix}-{index}", units=units(chunk), args={arg: chunk})
        for index, chunk in enumerate(chunked(items, size))
    ]
