"""Plan validation: every error the API contract names, said with where it is."""

from __future__ import annotations

import json

import pytest

from pulp2to3.plan import (
    Plan,
    PlanError,
    PluginPlan,
    RepositoryPlan,
    SourceIndex,
    VersionPlan,
    expand,
    missing_references,
    parse_plan,
    plan_to_json,
)

GOOD = {
    "plugins": [
        {
            "type": "iso",
            "repositories": [
                {
                    "name": "file",
                    "pulp2_importer_repository_id": "file2",
                    "repository_versions": [
                        {
                            "pulp2_repository_id": "file",
                            "pulp2_distributor_repository_ids": ["file", "file2"],
                        }
                    ],
                }
            ],
        }
    ]
}


def errors_of(raw: object) -> list[str]:
    with pytest.raises(PlanError) as caught:
        parse_plan(raw)
    return caught.value.messages


def test_the_spec_example_parses_from_an_object_and_from_a_string() -> None:
    expected = Plan(
        plugins=(
            PluginPlan(
                type="iso",
                repositories=(
                    RepositoryPlan(
                        name="file",
                        versions=(VersionPlan("file", ("file", "file2")),),
                        pulp2_importer_repository_id="file2",
                    ),
                ),
            ),
        )
    )
    assert parse_plan(GOOD) == expected
    assert parse_plan(json.dumps(GOOD)) == expected


def test_invalid_json() -> None:
    [message] = errors_of('{"plugins": [')
    assert message.startswith("The plan is not valid JSON")


@pytest.mark.parametrize("raw", [[], 3, "[1]", None])
def test_not_an_object(raw: object) -> None:
    assert errors_of(raw) == ["The plan must be a JSON object."]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({}, "plan: 'plugins' is a required property"),
        ({"plugins": []}, "plan.plugins: [] should be non-empty"),
        ({"plugins": [{"type": "iso"}], "extra": 1}, "plan: Additional properties are not allowed"),
        ({"plugins": [{"type": "iso", "x": 1}]}, "plan.plugins[0]: Additional properties"),
        (
            {"plugins": [{"type": "iso", "repositories": [{"name": "a"}]}]},
            "plan.plugins[0].repositories[0]: 'repository_versions' is a required property",
        ),
        (
            {
                "plugins": [
                    {"type": "iso", "repositories": [{"name": "a", "repository_versions": []}]}
                ]
            },
            "plan.plugins[0].repositories[0].repository_versions: [] should be non-empty",
        ),
        (
            {
                "plugins": [
                    {
                        "type": "iso",
                        "repositories": [
                            {"name": "a", "repository_versions": [{"pulp2_repository_id": 5}]}
                        ],
                    }
                ]
            },
            "plan.plugins[0].repositories[0].repository_versions[0].pulp2_repository_id:"
            " 5 is not of type 'string'",
        ),
    ],
)
def test_schema_violations_name_their_path(raw: object, expected: str) -> None:
    assert any(message.startswith(expected) for message in errors_of(raw)), errors_of(raw)


def test_the_same_plugin_twice() -> None:
    assert errors_of({"plugins": [{"type": "iso"}, {"type": "iso"}]}) == [
        "Plugin iso is listed more than once in the plan."
    ]


def test_an_unsupported_plugin() -> None:
    assert errors_of({"plugins": [{"type": "python"}]}) == [
        "Migration of python plugin is not supported."
    ]


def test_a_plugin_without_repositories_expands_to_every_repository_of_its_type() -> None:
    plan = expand(parse_plan({"plugins": [{"type": "iso"}]}), {"iso": ["b", "a"]})
    [plugin] = plan.plugins
    assert plugin.repositories == (
        RepositoryPlan("a", (VersionPlan("a", ("a",)),), pulp2_importer_repository_id="a"),
        RepositoryPlan("b", (VersionPlan("b", ("b",)),), pulp2_importer_repository_id="b"),
    )


def test_expansion_keeps_explicit_repositories() -> None:
    plan = parse_plan(GOOD)
    assert expand(plan, {"iso": ["other"]}) == plan


def test_missing_references_lists_every_one() -> None:
    source = SourceIndex(
        repositories=frozenset({"file"}), importers=frozenset(), distributors=frozenset({"file"})
    )
    assert missing_references(parse_plan(GOOD), source) == [
        "importer of Pulp 2 repository 'file2' (for 'file')",
        "distributors of Pulp 2 repository 'file2' (for 'file')",
    ]


def test_nothing_missing() -> None:
    names = frozenset({"file", "file2"})
    assert missing_references(parse_plan(GOOD), SourceIndex(names, names, names)) == []


def test_a_plan_survives_a_round_trip_through_json() -> None:
    plan = expand(parse_plan({"plugins": [{"type": "iso"}]}), {"iso": ["a"]})
    assert parse_plan(plan_to_json(plan)) == plan
    assert parse_plan(plan_to_json(parse_plan(GOOD))) == parse_plan(GOOD)


def deb_plan(**layouts: object) -> dict[str, object]:
    repository = {"name": "d", "repository_versions": [{"pulp2_repository_id": "d"}]}
    return {"plugins": [{"type": "deb", "repositories": [repository | layouts]}]}


def test_a_deb_repository_asks_for_the_simple_layout_besides_or_instead_of_structured() -> None:
    [default] = parse_plan(deb_plan()).plugins[0].repositories or ()
    assert (default.simple, default.structured) == (False, True)
    [both] = parse_plan(deb_plan(simple=True)).plugins[0].repositories or ()
    assert (both.simple, both.structured) == (True, True)
    plan = parse_plan(deb_plan(simple=True, structured=False))
    [only] = plan.plugins[0].repositories or ()
    assert (only.simple, only.structured) == (True, False)
    assert parse_plan(plan_to_json(plan)) == plan


def test_bad_layouts_are_refused_with_where() -> None:
    assert errors_of(deb_plan(simple="yes")) == [
        "plan.plugins[0].repositories[0].simple: 'yes' is not of type 'boolean'"
    ]
    assert errors_of(deb_plan(structured=False)) == [
        "Repository 'd' of plugin deb: simple and structured are both false: nothing to publish."
    ]
    iso = json.loads(json.dumps(GOOD))
    iso["plugins"][0]["repositories"][0]["simple"] = True
    assert errors_of(iso) == [
        "Repository 'file' of plugin iso: simple: its publications have no layouts."
    ]


def test_a_deb_plugin_asks_for_layouts_for_its_repositories_unless_they_say_otherwise() -> None:
    every = expand(parse_plan({"plugins": [{"type": "deb", "simple": True}]}), {"deb": ["a"]})
    [repository] = every.plugins[0].repositories or ()
    assert (repository.simple, repository.structured) == (True, True)
    assert parse_plan(plan_to_json(every)) == every
    listed = deb_plan(structured=True)
    listed["plugins"][0] |= {"simple": True, "structured": False}  # type: ignore[index]
    [own] = parse_plan(listed).plugins[0].repositories or ()
    assert (own.simple, own.structured) == (True, True)
    assert parse_plan(plan_to_json(parse_plan(listed))) == parse_plan(listed)


def test_bad_plugin_layouts_are_refused() -> None:
    assert errors_of({"plugins": [{"type": "iso", "structured": True}]}) == [
        "Plugin iso: structured: its publications have no layouts."
    ]
    assert errors_of({"plugins": [{"type": "deb", "structured": False}]}) == [
        "Plugin deb: simple and structured are both false: nothing to publish."
    ]
    inherited = deb_plan(simple=False)
    inherited["plugins"][0] |= {"simple": True, "structured": False}  # type: ignore[index]
    assert errors_of(inherited) == [
        "Repository 'd' of plugin deb: simple and structured are both false: nothing to publish."
    ]
