"""The steps of a plan as a graph: what each step needs."""

from __future__ import annotations

import pytest

from pulp2to3.actors.registry import steps_for
from pulp2to3.plan import parse_plan
from pulp2to3.plugins.registry import PLUGINS
from tests import graph_plugin

AFTER_CONTENT = {
    "create_repo_versions": ("create_repositories", "compute_version_content"),
    "create_publications": ("create_repo_versions",),
    "create_distributions": ("create_publications",),
}


def needs_of(plan: dict[str, object]) -> dict[str, tuple[str, ...]]:
    return {step.code: step.needs for step in steps_for(parse_plan(plan))}


def test_iso_steps_follow_content_and_compute_version_content_runs_beside_repositories() -> None:
    assert needs_of({"plugins": [{"type": "iso"}]}) == {
        "premigrate": (),
        "premigrate_merge": ("premigrate",),
        "migrate_content.iso": ("premigrate_merge",),
        "compute_version_content": ("migrate_content.iso",),
        "create_repositories": ("migrate_content.iso",),
        **AFTER_CONTENT,
    }


def test_content_types_need_the_types_they_need_and_plugins_run_side_by_side(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(PLUGINS, graph_plugin.PLUGIN.type, graph_plugin.PLUGIN)
    needs = needs_of({"plugins": [{"type": "graph"}, {"type": "iso"}]})
    a, b, c = (f"migrate_content.graph_{name}" for name in "abc")
    # In an order where each step comes after those it needs (c is declared first).
    assert list(needs) == [
        "premigrate",
        "premigrate_merge",
        a,
        b,
        c,
        "migrate_content.iso",
        "compute_version_content",
        "create_repositories",
        *AFTER_CONTENT,
    ]
    assert needs == {
        "premigrate": (),
        "premigrate_merge": ("premigrate",),
        a: ("premigrate_merge",),
        b: ("premigrate_merge",),
        c: (a, b),
        "migrate_content.iso": ("premigrate_merge",),
        "compute_version_content": (a, b, c, "migrate_content.iso"),
        "create_repositories": (a, b, c, "migrate_content.iso"),
        **AFTER_CONTENT,
    }
