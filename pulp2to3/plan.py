"""Migration plans in pulp-2to3-migration's JSON format: validation and expansion (pure)."""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Iterable, Mapping
from typing import Any

import jsonschema

from pulp2to3.plugins.registry import PLUGINS

_VERSION = {
    "type": "object",
    "additionalProperties": False,
    "required": ["pulp2_repository_id"],
    "properties": {
        "pulp2_repository_id": {"type": "string", "minLength": 1},
        "pulp2_distributor_repository_ids": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
        },
    },
}
# pulp_deb's publication layouts, asked for by a repository, or by a plugin for its repositories.
_LAYOUTS = {
    "simple": {
        "type": "boolean",
        "description": "Also publish pulp_deb's simple layout (dists/default/all/...);"
        " default false. Only for a plugin whose publications have layouts (deb).",
    },
    "structured": {
        "type": "boolean",
        "description": "Publish the structured layout (a release per distribution);"
        " default true. Only for a plugin whose publications have layouts (deb).",
    },
}
_REPOSITORY = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "repository_versions"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "pulp2_importer_repository_id": {"type": "string", "minLength": 1},
        "signing_service": {"type": "string", "minLength": 1},
        **_LAYOUTS,
        "repository_versions": {"type": "array", "minItems": 1, "items": _VERSION},
    },
}
SCHEMA: Mapping[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["plugins"],
    "properties": {
        "plugins": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["type"],
                "properties": {
                    "type": {"type": "string", "minLength": 1},
                    "repositories": {"type": "array", "items": _REPOSITORY},
                    **_LAYOUTS,
                },
            },
        }
    },
}
_VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
# A hostile plan can be wrong in every one of its parts, and hold huge values: what the error
# says stays bounded.
MAX_MESSAGES = 100
MAX_MESSAGE_LENGTH = 500


class PlanError(ValueError):
    """The plan is not acceptable; ``messages`` say what is wrong and where (the first
    ``MAX_MESSAGES``, each cut to ``MAX_MESSAGE_LENGTH`` characters)."""

    def __init__(self, messages: list[str]) -> None:
        bounded = [_bounded(message) for message in messages[:MAX_MESSAGES]]
        if len(messages) > MAX_MESSAGES:
            bounded.append(f"(only the first {MAX_MESSAGES} errors are listed)")
        super().__init__("; ".join(bounded))
        self.messages = bounded


def _bounded(message: str) -> str:
    if len(message) <= MAX_MESSAGE_LENGTH:
        return message
    return message[: MAX_MESSAGE_LENGTH - 1] + "…"


@dataclasses.dataclass(frozen=True)
class VersionPlan:
    pulp2_repository_id: str
    pulp2_distributor_repository_ids: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class RepositoryPlan:
    name: str
    versions: tuple[VersionPlan, ...]
    pulp2_importer_repository_id: str | None = None
    signing_service: str | None = None
    # The publication layouts asked for, as pulp_deb's publications name them.
    simple: bool = False
    structured: bool = True


@dataclasses.dataclass(frozen=True)
class PluginPlan:
    type: str
    # None: every Pulp 2 repository of the type, each to a Pulp 3 repository of the same name.
    repositories: tuple[RepositoryPlan, ...] | None
    # The layouts its repositories publish unless they say otherwise.
    simple: bool = False
    structured: bool = True


@dataclasses.dataclass(frozen=True)
class Plan:
    plugins: tuple[PluginPlan, ...]


def _where(path: Iterable[Any]) -> str:
    where = "plan"
    for part in path:
        where += f"[{part}]" if isinstance(part, int) else f".{part}"
    return where


def plan_object(raw: object) -> dict[str, Any]:
    """The plan as a JSON object, whether it came as an object or as a JSON string."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise PlanError(
                [f"The plan is not valid JSON: {exc.msg} at position {exc.pos}."]
            ) from exc
        except ValueError as exc:  # a number of more than 4,300 digits
            raise PlanError([f"The plan is not valid JSON: {exc}."]) from exc
        except RecursionError:
            raise PlanError(["The plan is not valid JSON: it is nested too deeply."]) from None
    if not isinstance(raw, dict):
        raise PlanError(["The plan must be a JSON object."])
    return raw


def parse_plan(raw: object) -> Plan:
    """Validate a plan given as an object or as a JSON string; raise PlanError if it is wrong."""
    plan = plan_object(raw)
    try:
        found = list(itertools.islice(_VALIDATOR.iter_errors(plan), MAX_MESSAGES + 1))
    except RecursionError:  # describing a wrong value of thousands of levels
        raise PlanError(["The plan is nested too deeply."]) from None
    if found:
        # Sorted by place; one more than listed tells the error that there are more.
        errors = sorted(found, key=lambda error: list(error.absolute_path))
        raise PlanError([f"{_where(error.absolute_path)}: {error.message}" for error in errors])
    return _build(plan)


def _build(raw: Mapping[str, Any]) -> Plan:
    messages: list[str] = []
    seen: set[str] = set()
    plugins = []
    for plugin in raw["plugins"]:
        kind = plugin["type"]
        if kind in seen:
            messages.append(f"Plugin {kind} is listed more than once in the plan.")
        seen.add(kind)
        if kind not in PLUGINS:
            messages.append(f"Migration of {kind} plugin is not supported.")
        repositories = plugin.get("repositories")
        layouts = {key: plugin[key] for key in _LAYOUTS if key in plugin}
        messages.extend(_layout_errors(plugin, layouts))
        plugins.append(
            PluginPlan(
                type=kind,
                repositories=None
                if repositories is None
                else tuple(_repository(layouts | repository) for repository in repositories),
                simple=layouts.get("simple", False),
                structured=layouts.get("structured", True),
            )
        )
    if messages:
        raise PlanError(messages)
    return Plan(plugins=tuple(plugins))


def _layout_errors(plugin: Mapping[str, Any], layouts: Mapping[str, bool]) -> list[str]:
    """What is wrong with the layouts the plugin (``layouts``) and its repositories ask for."""
    known = PLUGINS.get(plugin["type"])
    asking = [(f"Plugin {plugin['type']}", layouts, layouts)] + [
        (f"Repository {r['name']!r} of plugin {plugin['type']}", r, layouts | r)
        for r in plugin.get("repositories") or ()
    ]
    messages = []
    for where, raw, merged in asking:
        asked = [key for key in _LAYOUTS if key in raw]
        if asked and known is not None and not known.layouts:
            messages.append(f"{where}: {' and '.join(asked)}: its publications have no layouts.")
        elif asked and not merged.get("simple", False) and not merged.get("structured", True):
            messages.append(f"{where}: simple and structured are both false: nothing to publish.")
    return messages


def _repository(raw: Mapping[str, Any]) -> RepositoryPlan:
    return RepositoryPlan(
        name=raw["name"],
        versions=tuple(
            VersionPlan(
                pulp2_repository_id=version["pulp2_repository_id"],
                pulp2_distributor_repository_ids=tuple(
                    version.get("pulp2_distributor_repository_ids", ())
                ),
            )
            for version in raw["repository_versions"]
        ),
        pulp2_importer_repository_id=raw.get("pulp2_importer_repository_id"),
        signing_service=raw.get("signing_service"),
        simple=raw.get("simple", False),
        structured=raw.get("structured", True),
    )


def expand(plan: Plan, repos_by_type: Mapping[str, Iterable[str]]) -> Plan:
    """Replace "all repositories of this plugin" by the Pulp 2 repositories of that type.

    Each becomes a Pulp 3 repository of the same name, with its own importer and distributors.
    """
    return Plan(
        plugins=tuple(
            plugin
            if plugin.repositories is not None
            else PluginPlan(
                type=plugin.type,
                repositories=tuple(
                    RepositoryPlan(
                        name=repo_id,
                        versions=(VersionPlan(repo_id, (repo_id,)),),
                        pulp2_importer_repository_id=repo_id,
                        simple=plugin.simple,
                        structured=plugin.structured,
                    )
                    for repo_id in sorted(repos_by_type.get(plugin.type, ()))
                ),
                simple=plugin.simple,
                structured=plugin.structured,
            )
            for plugin in plan.plugins
        )
    )


@dataclasses.dataclass(frozen=True)
class SourceIndex:
    """What the Pulp 2 source holds, as far as a plan refers to it."""

    repositories: frozenset[str]
    importers: frozenset[str]
    distributors: frozenset[str]  # repo ids that have at least one distributor


def missing_references(plan: Plan, source: SourceIndex) -> list[str]:
    """Every Pulp 2 repository, importer and distributor the plan names but the source lacks."""
    missing: list[str] = []
    for plugin in plan.plugins:
        for repository in plugin.repositories or ():
            target = f"(for {repository.name!r})"
            importer = repository.pulp2_importer_repository_id
            if importer is not None and importer not in source.importers:
                missing.append(f"importer of Pulp 2 repository {importer!r} {target}")
            for version in repository.versions:
                repo_id = version.pulp2_repository_id
                if repo_id not in source.repositories:
                    missing.append(f"Pulp 2 repository {repo_id!r} {target}")
                for distributor in version.pulp2_distributor_repository_ids:
                    if distributor not in source.distributors:
                        missing.append(
                            f"distributors of Pulp 2 repository {distributor!r} {target}"
                        )
    return list(dict.fromkeys(missing))


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """The plan in pulp-2to3-migration's format (``parse_plan`` reads it back unchanged)."""
    plugins: list[dict[str, Any]] = []
    for plugin in plan.plugins:
        entry: dict[str, Any] = {"type": plugin.type} | _layouts_to_json(plugin)
        if plugin.repositories is not None:
            entry["repositories"] = [_repository_to_json(r, plugin) for r in plugin.repositories]
        plugins.append(entry)
    return {"plugins": plugins}


def _repository_to_json(repository: RepositoryPlan, plugin: PluginPlan) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": repository.name,
        "repository_versions": [
            {
                "pulp2_repository_id": version.pulp2_repository_id,
                "pulp2_distributor_repository_ids": list(version.pulp2_distributor_repository_ids),
            }
            for version in repository.versions
        ],
    }
    if repository.pulp2_importer_repository_id is not None:
        entry["pulp2_importer_repository_id"] = repository.pulp2_importer_repository_id
    if repository.signing_service is not None:
        entry["signing_service"] = repository.signing_service
    return entry | _layouts_to_json(repository, plugin)


def _layouts_to_json(
    asking: PluginPlan | RepositoryPlan, default: PluginPlan | None = None
) -> dict[str, bool]:
    """The layouts ``asking`` asks for that differ from ``default``'s (or the defaults)."""
    simple, structured = (default.simple, default.structured) if default else (False, True)
    return ({} if asking.simple == simple else {"simple": asking.simple}) | (
        {} if asking.structured == structured else {"structured": asking.structured}
    )
