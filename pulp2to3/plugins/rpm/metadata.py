"""The RPM content types besides packages: advisories, modules and their defaults, comps
entries and extra metadata files.

Each is decoded by its module (``advisories``, ``modules``, ``comps``, ``metadata_files``) and
kept as JSON data (``stored``) in ``rpm_metadata``, with a module's or defaults' YAML document
read from its file, and a metadata file's file as an artifact. After a batch is written, its
relations are checked: an erratum's packages, a module's artifacts (related to the packages
they name), a category's or environment's groups. A relation whose target was never migrated
is named as a failure of the unit that holds it; the unit itself is migrated all the same, so
the migration completes (the step's ``failed`` counts such units too).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

import asyncpg

from pulp2to3.plugins import ContentType, MigratedUnits, unit_files
from pulp2to3.pulp2.paths import UnsafePath, resolve_storage_path
from pulp2to3.settings import Settings
from pulp2to3.store import content, rpm

from . import advisories, comps, metadata_files, modules, stored, treeinfo
from .content import staged_fields
from .errors import InvalidRpmUnit

Nevra = advisories.Nevra
# The fields key under which the name of the snippet file found is handed to a decoder.
_TREEINFO_FOUND = "_snippet_name"


@dataclasses.dataclass(frozen=True)
class StoredAdvisory:
    """An advisory with its collections merged over every repository's package list."""

    advisory: advisories.Advisory
    collections: tuple[advisories.Collection, ...]


@dataclasses.dataclass(frozen=True)
class ContentFile:
    """A file of a content: where a repository has it, and where Pulp 2 stored it."""

    relative_path: str
    source: unit_files.UnitFile
    # Pulp 2 fetched it even for an on_demand unit (a tree's .treeinfo); else only when the
    # unit is downloaded, and a remote artifact gives the others.
    always_there: bool = False


@dataclasses.dataclass(frozen=True)
class Decoded:
    """What one unit becomes: its key fields, its data, and its snippet and files if any."""

    keys: Mapping[str, Any]
    value: Any  # the decoded object (a frozen dataclass)
    snippet: str | None = None
    files: tuple[ContentFile, ...] = ()


Context = Mapping[str, Any]  # what ``prepare`` read for a batch (an erratum's package lists)
Decoder = Callable[[Mapping[str, Any], str | None, Context], Decoded]
# The units of a batch, migrated, whose relations have no target: (Pulp 2 id, why).
RelationCheck = Callable[
    [asyncpg.Connection, Sequence[tuple[str, Decoded]]], Awaitable[list[tuple[str, str]]]
]


def digest(value: Any) -> str:
    """The sha256 of a value's canonical JSON: equal values, equal digests."""
    text = json.dumps(stored.plain(value), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _nevra_text(nevra: Nevra) -> str:
    name, epoch, version, release, arch = nevra
    return f"{name}-{epoch}:{version}-{release}.{arch}"


def _named(what: str, missing: Iterable[str], limit: int = 5) -> str:
    names = sorted(missing)
    shown = ", ".join(names[:limit])
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return f"{what}: {shown}{more}"


# --- decoders -----------------------------------------------------------------------------------


def decode_erratum(fields: Mapping[str, Any], snippet: str | None, context: Context) -> Decoded:
    advisory = advisories.decode_advisory(fields)
    collections = advisories.merge_pkglists(advisory.id, context.get(advisory.id, ()))
    return Decoded(keys={"id": advisory.id}, value=StoredAdvisory(advisory, collections))


def decode_modulemd(fields: Mapping[str, Any], snippet: str | None, context: Context) -> Decoded:
    module = modules.decode_module(fields, snippet or "")
    keys = {
        "name": module.name,
        "stream": module.stream,
        "version": module.version,
        "context": module.context,
        "arch": module.arch,
    }
    return Decoded(keys=keys, value=dataclasses.replace(module, snippet=""), snippet=snippet)


def decode_defaults(fields: Mapping[str, Any], snippet: str | None, context: Context) -> Decoded:
    defaults = modules.decode_module_defaults(fields, snippet or "")
    keys = {
        "module": defaults.module,
        "stream": defaults.stream,
        "digest": defaults.digest or hashlib.sha256((snippet or "").encode()).hexdigest(),
    }
    return Decoded(keys=keys, value=dataclasses.replace(defaults, snippet=""), snippet=snippet)


def _comps_decoder(decode: Callable[[Mapping[str, Any]], Any]) -> Decoder:
    """A comps entry's decoder; its digest leaves out the repository it came from, so equal
    entries of several repositories are one content."""

    def decoder(fields: Mapping[str, Any], snippet: str | None, context: Context) -> Decoded:
        entry = decode(fields)
        keys = {"digest": digest(dataclasses.replace(entry, repo_id=""))}
        if hasattr(entry, "id"):
            keys["id"] = entry.id
        return Decoded(keys=keys, value=entry)

    return decoder


def decode_metadata_file(
    fields: Mapping[str, Any], snippet: str | None, context: Context
) -> Decoded:
    if metadata_files.is_skipped(fields):
        raise InvalidRpmUnit.of(
            fields,
            metadata_files.CONTENT_TYPE,
            f"data type {fields.get('data_type')!r} is not migrated (createrepo_c writes it)",
        )
    file = metadata_files.decode_metadata_file(fields)
    keys = {"data_type": file.data_type, "checksum": file.checksum, "relative_path": file.file_name}
    sha256 = file.checksum if file.checksum_type == "sha256" else None
    source = unit_files.UnitFile(str(fields["_storage_path"]), None, sha256)
    return Decoded(keys=keys, value=file, files=(ContentFile(file.file_name, source),))


def decode_distribution(
    fields: Mapping[str, Any], snippet: str | None, context: Context
) -> Decoded:
    tree = treeinfo.decode_distribution(fields, snippet or "")
    folder = str(fields["_storage_path"]).rstrip("/")
    sums = {
        str(entry.get("relativepath", "")).strip(): entry.get("checksum")
        for entry in fields.get("files") or []
        if entry.get("checksumtype") == "sha256"
    }
    for path in tree.files:
        if not path or path.startswith("/") or ".." in path.split("/"):
            raise InvalidRpmUnit.of(fields, treeinfo.CONTENT_TYPE, f"file {path!r} leaves the tree")
    keys = {
        "distribution_id": tree.distribution_id,
        "digest": hashlib.sha256((snippet or "").encode()).hexdigest(),
    }
    treeinfo_file = ContentFile(
        treeinfo.TREEINFO_NAMES[0],
        unit_files.UnitFile(f"{folder}/{tree_source_name(fields)}", None, None),
        always_there=True,
    )
    images = tuple(
        ContentFile(path, unit_files.UnitFile(f"{folder}/{path}", None, sums.get(path)))
        for path in tree.files
    )
    return Decoded(
        keys=keys,
        value=dataclasses.replace(tree, treeinfo=""),
        snippet=snippet,
        files=(treeinfo_file, *images),
    )


def tree_source_name(fields: Mapping[str, Any]) -> str:
    """Which of ``.treeinfo`` and ``treeinfo`` the tree's folder has (read with the snippet)."""
    return str(fields.get(_TREEINFO_FOUND, treeinfo.TREEINFO_NAMES[0]))


# --- relations ----------------------------------------------------------------------------------


async def erratum_packages(
    connection: asyncpg.Connection, decoded: Sequence[tuple[str, Decoded]]
) -> list[tuple[str, str]]:
    named = {
        unit_id: {p.nevra for c in d.value.collections for p in c.packages}
        for unit_id, d in decoded
    }
    absent = await rpm.absent_nevras(connection, set().union(*named.values()))
    return [
        (unit_id, _named("names packages that are nowhere", map(_nevra_text, nevras & absent)))
        for unit_id, nevras in named.items()
        if nevras & absent
    ]


async def module_artifacts(
    connection: asyncpg.Connection, decoded: Sequence[tuple[str, Decoded]]
) -> list[tuple[str, str]]:
    keyed = [(MODULEMD.natural_key_of(d.keys), unit_id, d.value) for unit_id, d in decoded]
    await rpm.link_module_packages(
        connection,
        MODULEMD.pulp_type,
        [(key, nevra) for key, _, module in keyed for nevra in module.artifacts],
    )
    absent = await rpm.absent_nevras(
        connection, {nevra for _, _, module in keyed for nevra in module.artifacts}
    )
    return [
        (unit_id, _named("artifacts with no package", map(_nevra_text, missing)))
        for _, unit_id, module in keyed
        if (missing := set(module.artifacts) & absent)
    ]


async def comps_groups(
    connection: asyncpg.Connection, decoded: Sequence[tuple[str, Decoded]]
) -> list[tuple[str, str]]:
    def named(entry: Any) -> set[tuple[str, str]]:
        ids = set(entry.group_ids) | {group_id for group_id, _ in getattr(entry, "option_ids", ())}
        return {(entry.repo_id, group_id) for group_id in ids}

    wanted = {unit_id: named(d.value) for unit_id, d in decoded}
    absent = await rpm.absent_groups(connection, set().union(*wanted.values()))
    return [
        (unit_id, _named("names groups that are not in its repository", (g for _, g in missing)))
        for unit_id, pairs in wanted.items()
        if (missing := pairs & absent)
    ]


# --- the batch ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class MetadataType:
    """How one of these content types migrates."""

    decode: Decoder
    # The text file a unit's snippet is read from: the first of these names found in the
    # folder at its ``_storage_path`` ("" for the file at ``_storage_path`` itself).
    snippet_names: tuple[str, ...] = ()
    snippet_what: str = "YAML document"
    relations: RelationCheck | None = None


def _read_snippet(
    kind: MetadataType, unit: content.StagedUnit, settings: Settings
) -> tuple[str, str]:
    """The snippet's file name and text: the first name there, else the last one is read (and
    its ``OSError`` says it is missing)."""
    base = resolve_storage_path(unit.storage_path, settings.pulp2_root)
    found = next(
        (name for name in kind.snippet_names[:-1] if (base / name).exists()),
        kind.snippet_names[-1],
    )
    return found, (base / found if found else base).read_text(encoding="utf-8")


def _read_snippets(
    kind: MetadataType, units: Sequence[content.StagedUnit], settings: Settings
) -> dict[int, tuple[str, str] | InvalidRpmUnit]:
    """Blocking: each unit's snippet, or why it cannot be read."""
    snippets: dict[int, tuple[str, str] | InvalidRpmUnit] = {}
    for unit in units:
        try:
            snippets[unit.id] = _read_snippet(kind, unit, settings)
        except (UnsafePath, OSError, UnicodeDecodeError) as error:
            snippets[unit.id] = InvalidRpmUnit(
                "", unit.pulp2_id, f"its {kind.snippet_what} cannot be read: {error}"
            )
    return snippets


async def _context(
    content_type: ContentType, connection: asyncpg.Connection, units: Sequence[content.StagedUnit]
) -> Context:
    if content_type.pulp2_type != advisories.CONTENT_TYPE:
        return {}
    errata_ids = {str(unit.fields.get("errata_id")) for unit in units}
    return await rpm.pkglists(connection, errata_ids)


def _row(
    content_type: ContentType,
    unit: content.StagedUnit,
    decoded: Decoded,
    artifacts: Mapping[tuple[int, str], content.ArtifactRow],
) -> rpm.MetadataRow:
    def file_row(relative_path: str | None) -> content.FileContentRow:
        artifact = None if relative_path is None else artifacts.get((unit.id, relative_path))
        return content.FileContentRow(
            unit_id=unit.id,
            natural_key=content_type.natural_key_of(decoded.keys),
            repo_key=content_type.repository_key_of(decoded.keys),
            relative_path=relative_path,
            digest=artifact.sha256 if artifact else None,
            size=artifact.size if artifact else None,
            artifact=artifact,
        )

    paths: list[str | None] = [file.relative_path for file in decoded.files] or [None]
    return rpm.MetadataRow(
        content=file_row(paths[0]),
        files=tuple(file_row(path) for path in paths[1:]),
        kind=content_type.pulp2_type,
        data=stored.plain(decoded.value),
        snippet=decoded.snippet,
    )


async def migrate_metadata(
    content_type: ContentType,
    connection: asyncpg.Connection,
    units: Sequence[content.StagedUnit],
    settings: Settings,
) -> MigratedUnits:
    """Migrate ``units`` of ``content_type`` (locked by the batch); idempotent."""
    kind = METADATA_TYPES[content_type.pulp2_type]
    context = await _context(content_type, connection, units)
    snippets = (
        await asyncio.to_thread(_read_snippets, kind, units, settings) if kind.snippet_names else {}
    )
    failures: dict[str, str] = {}
    decoded: list[tuple[content.StagedUnit, Decoded]] = []
    for unit in units:
        try:
            snippet = snippets.get(unit.id)
            if isinstance(snippet, InvalidRpmUnit):
                raise snippet
            fields = staged_fields(unit, content_type)
            if snippet is not None:
                fields[_TREEINFO_FOUND] = snippet[0]
            decoded.append(
                (unit, kind.decode(fields, None if snippet is None else snippet[1], context))
            )
        except InvalidRpmUnit as error:
            failures[unit.pulp2_id] = error.reason
    to_import = [
        (unit, file)
        for unit, item in decoded
        for file in item.files
        if file.always_there or (unit.downloaded and unit.storage_path)
    ]
    imported = await unit_files.import_files([file.source for _, file in to_import], settings)
    artifacts: dict[tuple[int, str], content.ArtifactRow] = {}
    for (unit, file), result in zip(to_import, imported, strict=True):
        if isinstance(result, str):
            failures.setdefault(unit.pulp2_id, result)
        else:
            artifacts[unit.id, file.relative_path] = content.ArtifactRow.of(result)
    kept = [(unit, item) for unit, item in decoded if unit.pulp2_id not in failures]
    rows = [_row(content_type, unit, item, artifacts) for unit, item in kept]
    migrated = await rpm.save_metadata(connection, content_type.pulp_type, rows)
    if kind.relations is not None and kept:
        # A unit whose relation has no target is migrated, but counted and named as failed,
        # not as done: a step's done + failed never exceeds its total.
        for unit_id, reason in await kind.relations(
            connection, [(unit.pulp2_id, item) for unit, item in kept]
        ):
            failures[unit_id] = reason
            migrated -= 1
    return MigratedUnits(migrated=migrated, failures=tuple(sorted(failures.items())))


def _content_type(
    pulp2_type: str,
    pulp_type: str,
    natural_key: tuple[str, ...],
    repository_key: tuple[str, ...],
    description: str,
    needs: tuple[str, ...] = (),
    binary_fields: tuple[str, ...] = (),
) -> ContentType:
    return ContentType(
        pulp2_type=pulp2_type,
        pulp_type=pulp_type,
        natural_key=natural_key,
        repository_key=repository_key,
        description=description,
        migrate=migrate_metadata,
        needs=needs,
        binary_fields=binary_fields,
    )


MODULEMD = _content_type(
    modules.MODULEMD,
    "rpm.modulemd",
    ("name", "stream", "version", "context", "arch"),
    ("name", "stream", "version", "context", "arch"),
    "Migrate modules, related to the packages their artifacts name",
    # The graph has rpm only; a module's artifacts name its source packages too.
    needs=("rpm", "srpm"),
)
ERRATUM = _content_type(
    advisories.CONTENT_TYPE,
    "rpm.advisory",
    ("id",),
    ("id",),
    "Migrate errata: advisories with their package lists merged over repositories",
    needs=("rpm", "srpm", modules.MODULEMD),
)
MODULEMD_DEFAULTS = _content_type(
    modules.MODULEMD_DEFAULTS,
    "rpm.modulemd_defaults",
    ("module", "stream", "digest"),
    ("module",),
    "Migrate module defaults",
    binary_fields=("profiles",),
)
GROUP = _content_type(
    comps.GROUP, "rpm.packagegroup", ("id", "digest"), ("id",), "Migrate package groups"
)
CATEGORY = _content_type(
    comps.CATEGORY,
    "rpm.packagecategory",
    ("id", "digest"),
    ("id",),
    "Migrate package categories",
    needs=(comps.GROUP,),
)
ENVIRONMENT = _content_type(
    comps.ENVIRONMENT,
    "rpm.packageenvironment",
    ("id", "digest"),
    ("id",),
    "Migrate package environments",
    needs=(comps.GROUP,),
)
LANGPACKS = _content_type(
    comps.LANGPACKS, "rpm.packagelangpacks", ("digest",), (), "Migrate package langpacks"
)
METADATA_FILE = _content_type(
    metadata_files.CONTENT_TYPE,
    "rpm.repo_metadata_file",
    ("data_type", "checksum", "relative_path"),
    ("data_type",),
    "Migrate extra repository metadata files",
)

DISTRIBUTION = _content_type(
    treeinfo.CONTENT_TYPE,
    "rpm.distribution_tree",
    ("distribution_id", "digest"),
    (),
    "Migrate kickstart trees: their .treeinfo and images become artifacts",
)

METADATA_TYPES: Mapping[str, MetadataType] = {
    advisories.CONTENT_TYPE: MetadataType(decode_erratum, relations=erratum_packages),
    modules.MODULEMD: MetadataType(
        decode_modulemd, snippet_names=("",), relations=module_artifacts
    ),
    modules.MODULEMD_DEFAULTS: MetadataType(decode_defaults, snippet_names=("",)),
    treeinfo.CONTENT_TYPE: MetadataType(
        decode_distribution, snippet_names=treeinfo.TREEINFO_NAMES, snippet_what=".treeinfo"
    ),
    comps.GROUP: MetadataType(_comps_decoder(comps.decode_group)),
    comps.CATEGORY: MetadataType(_comps_decoder(comps.decode_category), relations=comps_groups),
    comps.ENVIRONMENT: MetadataType(
        _comps_decoder(comps.decode_environment), relations=comps_groups
    ),
    comps.LANGPACKS: MetadataType(_comps_decoder(comps.decode_langpacks)),
    metadata_files.CONTENT_TYPE: MetadataType(decode_metadata_file),
}
CONTENT_TYPES = (
    MODULEMD,
    ERRATUM,
    MODULEMD_DEFAULTS,
    GROUP,
    CATEGORY,
    ENVIRONMENT,
    LANGPACKS,
    METADATA_FILE,
    DISTRIBUTION,
)
