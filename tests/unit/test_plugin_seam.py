"""The plugin seam: content types as a dependency graph, their keys, and the ISO plugin's facts."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pulp2to3.plugins import ContentType, MigratedUnits, Plugin, Pulp3Types, pulp2_configs
from pulp2to3.plugins.iso_content import CONTENT_TYPE
from pulp2to3.plugins.iso_plugin import PLUGIN
from pulp2to3.plugins.registry import PLUGINS


async def _migrate(connection: Any, units: Sequence[Any], settings: Any) -> MigratedUnits:
    raise AssertionError("not called")


async def _publish(connection: Any, publications: Sequence[Any], settings: Any) -> None:
    raise AssertionError("not called")


def content_type(name: str, *needs: str) -> ContentType:
    return ContentType(
        pulp2_type=name,
        pulp_type=f"t.{name}",
        natural_key=("name",),
        repository_key=("name",),
        description=name,
        migrate=_migrate,
        needs=needs,
    )


def plugin(*content_types: ContentType) -> Plugin:
    return dataclasses.replace(PLUGIN, type="test", content_types=content_types)


def names(types: Sequence[ContentType]) -> list[str]:
    return [t.pulp2_type for t in types]


def test_the_iso_plugin_is_registered_with_its_facts() -> None:
    assert PLUGINS["iso"] is PLUGIN
    assert PLUGIN.pulp2_repo_type == "iso-repo"
    assert PLUGIN.pulp3 == Pulp3Types("file.file", "file.file", "file.file", "file.file")
    assert PLUGIN.distributor_types == ("iso_distributor",)
    assert PLUGIN.content_order() == (CONTENT_TYPE,)
    assert CONTENT_TYPE.step_code == "migrate_content.iso"
    assert PLUGIN.remote_from_importer is pulp2_configs.remote_from_importer
    assert PLUGIN.base_path is pulp2_configs.base_path
    assert PLUGIN.publication_options([{"relative_url": "x"}]) == {}


def test_content_types_run_after_those_they_need() -> None:
    """The RPM family's graph, declared in an order that ignores it."""
    rpm = plugin(
        content_type("erratum", "rpm", "srpm", "modulemd"),
        content_type("package_category", "package_group"),
        content_type("modulemd", "rpm"),
        content_type("rpm"),
        content_type("srpm"),
        content_type("package_group"),
        content_type("distribution"),
    )
    assert names(rpm.content_order()) == [
        "rpm",
        "srpm",
        "package_group",
        "distribution",
        "package_category",
        "modulemd",
        "erratum",
    ]


@given(st.data())
def test_any_graph_is_ordered_with_every_type_once(data: st.DataObject) -> None:
    count = data.draw(st.integers(min_value=1, max_value=8))
    types = [
        content_type(
            f"t{n}",
            *data.draw(
                st.sets(st.sampled_from([f"t{m}" for m in range(n)]) if n else st.nothing())
            ),
        )
        for n in range(count)
    ]
    declared = data.draw(st.permutations(types))
    order = names(plugin(*declared).content_order())
    assert sorted(order) == sorted(names(types))
    for content in types:
        assert all(order.index(need) < order.index(content.pulp2_type) for need in content.needs)


@pytest.mark.parametrize(
    ("types", "message"),
    [
        ((content_type("a", "b"),), "a needs unknown content types b"),
        ((content_type("a", "b"), content_type("b", "a")), "need each other: a, b"),
        ((content_type("a"), content_type("a")), "declared twice"),
    ],
)
def test_a_broken_graph_is_refused(types: tuple[ContentType, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plugin(*types)


def test_keys_are_canonical_texts_of_their_fields() -> None:
    package = dataclasses.replace(
        content_type("rpm"),
        natural_key=("name", "epoch", "version"),
        repository_key=("name", "arch"),
    )
    fields = {"arch": "noarch", "version": "1.0", "epoch": "0", "name": "bash", "other": 1}
    assert package.natural_key_of(fields) == '["bash","0","1.0"]'
    assert package.repository_key_of(fields) == '["bash","noarch"]'
    assert content_type("x").repository_key_of({"name": "ünï"}) == "ünï"


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(), children, max_size=3)
    ),
    max_leaves=6,
)


@given(st.lists(JSON_VALUES, min_size=1, max_size=4))
def test_a_key_text_is_the_compact_json_of_its_values(values: list[Any]) -> None:
    """Key texts are written without the JSON encoder for strings and integers: still the
    text ``json.dumps`` gives (stored keys of earlier migrations must match)."""
    names = tuple(f"f{index}" for index in range(len(values)))
    key_type = dataclasses.replace(content_type("k"), natural_key=names)
    fields = dict(zip(names, values, strict=True))
    expected = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
    assert key_type.natural_key_of(fields) == expected
