"""Decoded RPM objects kept as JSON data come back equal, each kind of type hint its own way."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

from pulp2to3.plugins.rpm import stored


@dataclasses.dataclass(frozen=True)
class Leaf:
    name: str
    at: datetime | None


@dataclasses.dataclass(frozen=True)
class Tree:
    leaves: tuple[Leaf, ...]
    pair: tuple[str, int]
    first: Leaf | None
    when: datetime


TREE = Tree(
    leaves=(Leaf("a", datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)), Leaf("b", None)),
    pair=("x", 2),
    first=Leaf("c", None),
    when=datetime(2021, 6, 7, tzinfo=UTC),
)


def test_plain_data_loads_back_equal() -> None:
    data = json.loads(json.dumps(stored.plain(TREE)))
    assert stored.load(Tree, data) == TREE
    assert stored.load(Tree, {**data, "first": None}) == dataclasses.replace(TREE, first=None)


def test_the_same_kind_loads_other_data_as_its_own() -> None:
    """What is worked out once per type holds nothing of the first object loaded."""
    other = Tree(leaves=(), pair=("y", 3), first=None, when=datetime(2022, 1, 1, tzinfo=UTC))
    assert stored.load(Tree, stored.plain(TREE)) == TREE
    assert stored.load(Tree, json.loads(json.dumps(stored.plain(other)))) == other
    assert stored.load(Leaf, stored.plain(Leaf("d", None))) == Leaf("d", None)
