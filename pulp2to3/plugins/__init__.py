"""The plugin seam: all that the generic steps know about a content family comes from its Plugin.

A plugin declares its Pulp 2 repository type; its content types as a dependency graph (each
names the types of the plugin it needs migrated first), with their Pulp 3 type and their natural
and repository keys; and the Pulp 3 types of its repositories, remotes, publications and
distributions. It gives the functions that migrate a batch of its units, turn an importer into
a remote and distributors into publication options and base paths, and publish repository
versions. ``plugins.registry`` maps a plan's plugin type to its Plugin; the steps in ``actors/``
name no plugin.

This module is pure: what the callables take is only named for the type checker.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from json.encoder import encode_basestring
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Awaitable

    import asyncpg

    from pulp2to3.settings import Settings
    from pulp2to3.store.content import StagedUnit

    # Migrate staged units of the content type it is given (locked, in the batch's
    # transaction), idempotently: one function may serve several types.
    ContentMigrator = Callable[
        ["ContentType", asyncpg.Connection, Sequence[StagedUnit], Settings],
        Awaitable["MigratedUnits"],
    ]
    # Publish the content of new publications' versions (in the batch's transaction).
    Publisher = Callable[
        [asyncpg.Connection, Sequence["NewPublication"], Settings], Awaitable[None]
    ]


class InvalidImporter(ValueError):
    """An importer whose config cannot make a Pulp 3 remote (a per-repository failure)."""


class InvalidBasePath(ValueError):
    """A distributor whose config cannot give a base path (a per-distribution failure)."""


class CorruptFile(str):
    """Why a unit failed, when it is because its downloaded file is missing or corrupt: unless
    the migration skips such units (``skip_corrupted``), they fail their content step."""

    __slots__ = ()


@dataclasses.dataclass(frozen=True)
class MigratedUnits:
    """What a content batch did: how many units it migrated, and why the others failed."""

    migrated: int
    failures: tuple[tuple[str, str], ...] = ()  # (Pulp 2 unit id, why)


Row = TypeVar("Row")


def split_outcomes(
    units: Sequence[StagedUnit], outcomes: Sequence[Row | str]
) -> tuple[list[Row], tuple[tuple[str, str], ...]]:
    """Each unit's outcome, a row to save or the reason it failed: the rows, and the failures
    as (Pulp 2 unit id, why)."""
    rows: list[Row] = []
    failures: list[tuple[str, str]] = []
    for unit, outcome in zip(units, outcomes, strict=True):
        if isinstance(outcome, str):
            failures.append((unit.pulp2_id, outcome))
        else:
            rows.append(outcome)
    return rows, tuple(failures)


@dataclasses.dataclass(frozen=True)
class RemoteSpec:
    """What a Pulp 2 importer's config becomes: a Pulp 3 remote's url, policy and options."""

    url: str
    policy: str
    options: Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class NewPublication:
    """A publication to fill, with the options its version's distributors give, and the
    signing service its plan repository names (a plugin that signs looks it up in
    ``Settings.signing_services``)."""

    id: int
    options: Mapping[str, Any]
    signing_service: str | None = None
    # The layouts its plan repository asks for (a plugin with ``layouts`` reads them).
    simple: bool = False
    structured: bool = True


# A key's text is the compact JSON array of its values, non-ASCII kept. Strings and integers
# (nearly every key value) are written without the encoder: ``JSONEncoder.encode`` builds its
# C encoder anew on each call, a seventh of an ISO batch's Python in the profile.
_KEY_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _value_text(value: Any) -> str:
    if type(value) is str:
        return encode_basestring(value)
    if type(value) is int:
        return int.__repr__(value)
    return _KEY_ENCODER.encode(value)


def _key_text(fields: Mapping[str, Any], names: Sequence[str]) -> str:
    return "[" + ",".join([_value_text(fields[name]) for name in names]) + "]"


@dataclasses.dataclass(frozen=True)
class ContentType:
    """One Pulp 2 content type of a plugin and what its units become."""

    pulp2_type: str  # the dump's ``units_<pulp2_type>`` collection
    pulp_type: str  # the Pulp 3 content type
    # Pulp 3 fields whose values identify a content: units with equal values are one content.
    natural_key: tuple[str, ...]
    # Pulp 3 fields of which a repository version holds one content (the newest unit added).
    repository_key: tuple[str, ...]
    description: str  # of its step, ``migrate_content.<pulp2_type>``
    migrate: ContentMigrator
    needs: tuple[str, ...] = ()  # content types of the plugin migrated before this one
    # Fields whose string value is data of any bytes (Pulp 2 kept BSON in some, NULs and
    # all): premigrate stages them as it stages binary values, base64 text.
    binary_fields: tuple[str, ...] = ()
    batch_size: int = 1000

    @property
    def step_code(self) -> str:
        return f"migrate_content.{self.pulp2_type}"

    async def migrate_units(
        self, connection: asyncpg.Connection, units: Sequence[StagedUnit], settings: Settings
    ) -> MigratedUnits:
        """Migrate ``units`` of this type with its ``migrate``."""
        return await self.migrate(self, connection, units, settings)

    def natural_key_of(self, fields: Mapping[str, Any]) -> str:
        """Canonical text of the natural key of content with these Pulp 3 fields."""
        return _key_text(fields, self.natural_key)

    def repository_key_of(self, fields: Mapping[str, Any]) -> str:
        """The text of the repository key: a key of one text field is that text."""
        if len(self.repository_key) == 1 and isinstance(fields[self.repository_key[0]], str):
            return str(fields[self.repository_key[0]])
        return _key_text(fields, self.repository_key)


@dataclasses.dataclass(frozen=True)
class Pulp3Types:
    repository: str
    remote: str
    publication: str
    distribution: str


@dataclasses.dataclass(frozen=True)
class Plugin:
    type: str  # the plan's plugin type
    pulp2_repo_type: str  # the ``notes._repo-type`` of its Pulp 2 repositories
    content_types: tuple[ContentType, ...]  # a dependency graph, see ``ContentType.needs``
    pulp3: Pulp3Types
    # The Pulp 2 distributor types whose distributors become its publications and distributions.
    distributor_types: tuple[str, ...]
    # An importer's config as a remote, None without a feed; raises InvalidImporter.
    remote_from_importer: Callable[[Mapping[str, Any]], RemoteSpec | None]
    # The publication options the configs of a version's distributors ask for.
    publication_options: Callable[[Sequence[Mapping[str, Any]]], Mapping[str, Any]]
    # Where a distributor (its config, its repo id) serves; raises InvalidBasePath.
    base_path: Callable[[Mapping[str, Any], str], str]
    publish: Publisher
    # Distributor types with no Pulp 3 counterpart: each such distributor of a published plan
    # version is reported as not migrated, by name.
    unmigrated_distributor_types: tuple[str, ...] = ()
    # Pulp 2 collections besides ``units_<type>`` that its content types read (RPM's
    # ``erratum_pkglists``): premigrate stages each document as a unit whose content type is
    # the collection's name, which no step migrates.
    staged_collections: tuple[str, ...] = ()
    # Its publications have pulp_deb's layouts: a plan repository may ask for ``simple``,
    # ``structured`` (the default) or both; a plan asking it of another plugin is refused.
    layouts: bool = False
    # Its ``publish`` publishes its versions' files with ``store.publications.
    # publish_version_files``, whose input create_publications then computes for them.
    publishes_version_files: bool = False

    @property
    def reported_distributor_types(self) -> tuple[str, ...]:
        """The distributor types the distributions step looks at: served or reported."""
        return self.distributor_types + self.unmigrated_distributor_types

    def __post_init__(self) -> None:
        names = [content_type.pulp2_type for content_type in self.content_types]
        if len(set(names)) != len(names):
            raise ValueError(f"plugin {self.type}: a content type is declared twice")
        for content_type in self.content_types:
            unknown = set(content_type.needs) - set(names)
            if unknown:
                raise ValueError(
                    f"plugin {self.type}: {content_type.pulp2_type} needs unknown content types"
                    f" {', '.join(sorted(unknown))}"
                )
        self.content_order()  # refuses a cycle

    def content_order(self) -> tuple[ContentType, ...]:
        """The content types, each after those it needs (otherwise in declaration order)."""
        done: dict[str, ContentType] = {}
        waiting = list(self.content_types)
        while waiting:
            ready = [t for t in waiting if all(need in done for need in t.needs)]
            if not ready:
                cycle = ", ".join(t.pulp2_type for t in waiting)
                raise ValueError(f"plugin {self.type}: content types need each other: {cycle}")
            for content_type in ready:
                done[content_type.pulp2_type] = content_type
            waiting = [t for t in waiting if t.pulp2_type not in done]
        return tuple(done.values())
