"""Pulp 2 comps units (``package_group``, ``_category``, ``_environment``, ``_langpacks``) to
frozen objects, and those to one libcomps document (``comps.xml``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

import libcomps

from .errors import InvalidRpmUnit, optional_text, text_field

GROUP = "package_group"
CATEGORY = "package_category"
ENVIRONMENT = "package_environment"
LANGPACKS = "package_langpacks"

# Pulp 2's list fields of a group, with the libcomps type of the packages in each.
_GROUP_LISTS = (
    ("mandatory_package_names", libcomps.PACKAGE_TYPE_MANDATORY),
    ("default_package_names", libcomps.PACKAGE_TYPE_DEFAULT),
    ("optional_package_names", libcomps.PACKAGE_TYPE_OPTIONAL),
)

Translations = tuple[tuple[str, str], ...]


@dataclasses.dataclass(frozen=True)
class GroupPackage:
    name: str
    type: int  # a libcomps.PACKAGE_TYPE_*
    requires: str


@dataclasses.dataclass(frozen=True)
class CompsEntry:
    """What groups, categories and environments all have."""

    id: str
    repo_id: str
    name: str
    description: str
    display_order: int | None
    name_by_lang: Translations
    desc_by_lang: Translations


@dataclasses.dataclass(frozen=True)
class Group(CompsEntry):
    default: bool
    user_visible: bool
    packages: tuple[GroupPackage, ...]


@dataclasses.dataclass(frozen=True)
class Category(CompsEntry):
    group_ids: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Environment(CompsEntry):
    group_ids: tuple[str, ...]
    option_ids: tuple[tuple[str, bool], ...]
    """``(group id, selected by default)``."""


@dataclasses.dataclass(frozen=True)
class Langpacks:
    repo_id: str
    matches: tuple[tuple[str, str], ...]
    """``(package name, the package to install with it, %s standing for the language)``."""


def _translations(fields: Mapping[str, Any], name: str, unit: str) -> Translations:
    value = fields.get(name) or {}
    if not isinstance(value, Mapping):
        raise InvalidRpmUnit.of(fields, unit, f"{name} is not a document")
    return tuple(sorted((str(lang), str(text)) for lang, text in value.items()))


def _names(fields: Mapping[str, Any], name: str, unit: str) -> tuple[str, ...]:
    value = fields.get(name) or []
    if not isinstance(value, list):
        raise InvalidRpmUnit.of(fields, unit, f"{name} is not a list")
    return tuple(str(item) for item in value)


def _display_order(fields: Mapping[str, Any], unit: str) -> int | None:
    value = fields.get("display_order")
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as error:
        raise InvalidRpmUnit.of(fields, unit, f"display_order {value!r} is not a number") from error


def _entry(fields: Mapping[str, Any], unit: str, id_field: str) -> dict[str, Any]:
    """The :class:`CompsEntry` fields of a unit, as keyword arguments."""
    return {
        "id": text_field(fields, id_field, unit),
        "repo_id": text_field(fields, "repo_id", unit),
        "name": optional_text(fields, "name"),
        "description": optional_text(fields, "description"),
        "display_order": _display_order(fields, unit),
        "name_by_lang": _translations(fields, "translated_name", unit),
        "desc_by_lang": _translations(fields, "translated_description", unit),
    }


def decode_group(fields: Mapping[str, Any]) -> Group:
    packages = [
        GroupPackage(name=name, type=kind, requires="")
        for field, kind in _GROUP_LISTS
        for name in _names(fields, field, GROUP)
    ]
    # Conditional packages are [name, required package] pairs.
    for entry in fields.get("conditional_package_names") or []:
        if not isinstance(entry, list | tuple) or len(entry) != 2:
            raise InvalidRpmUnit.of(fields, GROUP, f"conditional package {entry!r} is not a pair")
        packages.append(
            GroupPackage(
                name=str(entry[0]), type=libcomps.PACKAGE_TYPE_CONDITIONAL, requires=str(entry[1])
            )
        )
    return Group(
        **_entry(fields, GROUP, "package_group_id"),
        default=bool(fields.get("default")),
        user_visible=bool(fields.get("user_visible", True)),
        packages=tuple(packages),
    )


def decode_category(fields: Mapping[str, Any]) -> Category:
    return Category(
        **_entry(fields, CATEGORY, "package_category_id"),
        group_ids=_names(fields, "packagegroupids", CATEGORY),
    )


def decode_environment(fields: Mapping[str, Any]) -> Environment:
    options = fields.get("options") or []
    if not isinstance(options, list) or not all(
        isinstance(option, Mapping) and "group" in option for option in options
    ):
        raise InvalidRpmUnit.of(fields, ENVIRONMENT, "options is not a list of {group, default}")
    return Environment(
        **_entry(fields, ENVIRONMENT, "package_environment_id"),
        group_ids=_names(fields, "group_ids", ENVIRONMENT),
        option_ids=tuple((str(o["group"]), bool(o.get("default"))) for o in options),
    )


def decode_langpacks(fields: Mapping[str, Any]) -> Langpacks:
    matches = fields.get("matches") or []
    if not isinstance(matches, list) or not all(
        isinstance(match, Mapping) and "name" in match and "install" in match for match in matches
    ):
        raise InvalidRpmUnit.of(fields, LANGPACKS, "matches is not a list of {name, install}")
    return Langpacks(
        repo_id=text_field(fields, "repo_id", LANGPACKS),
        matches=tuple((str(m["name"]), str(m["install"])) for m in matches),
    )


def _describe(target: Any, entry: CompsEntry) -> Any:
    """``target`` (a libcomps group, category or environment) with the entry's order and
    translations set."""
    if entry.display_order is not None:
        target.display_order = entry.display_order
    for lang, text in entry.name_by_lang:
        target.name_by_lang[lang] = text
    for lang, text in entry.desc_by_lang:
        target.desc_by_lang[lang] = text
    return target


def _libcomps_group(group: Group) -> libcomps.Group:
    result = libcomps.Group(group.id, group.name, group.description, group.default)
    result.uservisible = group.user_visible
    for package in group.packages:
        entry = libcomps.Package(package.name, package.type)
        if package.requires:
            entry.requires = package.requires
        result.packages.append(entry)
    return _describe(result, group)


def _libcomps_category(category: Category) -> libcomps.Category:
    result = libcomps.Category(category.id, category.name, category.description)
    for group_id in category.group_ids:
        result.group_ids.append(group_id)
    return _describe(result, category)


def _libcomps_environment(environment: Environment) -> libcomps.Environment:
    result = libcomps.Environment(environment.id, environment.name, environment.description)
    for group_id in environment.group_ids:
        result.group_ids.append(group_id)
    for group_id, default in environment.option_ids:
        result.option_ids.append(libcomps.GroupId(group_id, default=default))
    return _describe(result, environment)


def build_comps(
    groups: Iterable[Group],
    categories: Iterable[Category],
    environments: Iterable[Environment],
    langpacks: Iterable[Langpacks],
) -> libcomps.Comps:
    """One libcomps document holding all of them (its ``xml_str()`` is ``comps.xml``).

    ``ValueError`` when two groups, categories or environments have the same id.
    """
    comps = libcomps.Comps()
    try:
        for group in groups:
            comps.groups.append(_libcomps_group(group))
        for category in categories:
            comps.categories.append(_libcomps_category(category))
        for environment in environments:
            comps.environments.append(_libcomps_environment(environment))
    except KeyError as error:  # libcomps refuses a second entry of the same id
        raise ValueError(f"comps: {error.args[0]}") from error
    for langpack in langpacks:
        for name, install in langpack.matches:
            comps.langpacks[name] = install
    return comps
