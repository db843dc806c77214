"""The Debian content types: ``deb_release`` and ``deb`` (in parallel), then ``deb_component``.

- A release is one per distinct (distribution, codename, suite) across repositories.
- A package is known, as in pulp_deb, by its sha256 and relative path (its file name); the file
  of a downloaded unit becomes an artifact checked against ``checksum`` and ``size``; an
  on_demand one needs a lazy catalog entry (the repositories step makes it a remote artifact).
- A component names its release (by the repository's release unit of that distribution and
  codename, so it needs releases) and its packages (so it needs packages): one it names that
  is not in the dump or was not migrated makes it a named failure, never a silent loss. Its
  natural key holds a digest of its packages: a component whose packages changed in Pulp 2 is
  another content, so a version holding it is another version, and its indexes list exactly
  the packages its unit lists now.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from typing import Any

import asyncpg

from pulp2to3 import storage
from pulp2to3.plugins import ContentType, MigratedUnits, split_outcomes, unit_files
from pulp2to3.settings import Settings
from pulp2to3.store import content, deb

from .decode import (
    DebComponent,
    DebPackage,
    InvalidDebUnit,
    decode_component,
    decode_package,
    decode_release,
)


def _content(
    unit: content.StagedUnit,
    content_type: ContentType,
    keys: dict[str, Any],
    file: DebPackage | None = None,
    artifact: content.ArtifactRow | None = None,
) -> content.FileContentRow:
    return content.FileContentRow(
        unit_id=unit.id,
        natural_key=content_type.natural_key_of(keys),
        repo_key=content_type.repository_key_of(keys),
        relative_path=file.relative_path if file else None,
        digest=file.sha256 if file else None,
        size=file.size if file else None,
        artifact=artifact,
    )


def _package_row(
    content_type: ContentType,
    unit: content.StagedUnit,
    package: DebPackage,
    artifact: content.ArtifactRow | None,
) -> deb.PackageRow:
    fields = dataclasses.asdict(package)
    fields["control"] = [list(pair) for pair in package.control]
    return deb.PackageRow(
        content=_content(unit, content_type, fields, package, artifact), fields=fields
    )


def _decode_package(unit: content.StagedUnit) -> DebPackage | str:
    try:
        return decode_package(unit.fields)
    except InvalidDebUnit as error:
        return f"invalid deb unit: {error}"


def _expected(package: DebPackage) -> tuple[int, str]:
    return package.size, package.sha256


async def migrate_packages(
    content_type: ContentType,
    connection: asyncpg.Connection,
    units: Sequence[content.StagedUnit],
    settings: Settings,
) -> MigratedUnits:
    """Migrate ``deb`` units (locked by the batch); idempotent."""
    fetchable = await deb.lazy_units(
        connection, [unit.pulp2_id for unit in units if not unit.downloaded]
    )

    def row(
        unit: content.StagedUnit, package: DebPackage, stored: storage.StoredArtifact | None
    ) -> deb.PackageRow | str:
        if stored is None and unit.pulp2_id not in fetchable:
            return "not downloaded, and no lazy catalog entry says where to fetch it"
        artifact = content.ArtifactRow.of(stored) if stored is not None else None
        return _package_row(content_type, unit, package, artifact)

    outcomes = await unit_files.units_with_artifacts(
        units, settings, _decode_package, _expected, row
    )
    rows, failures = split_outcomes(units, outcomes)
    migrated = await deb.save_packages(connection, content_type.pulp_type, rows)
    return MigratedUnits(migrated=migrated, failures=failures)


async def migrate_releases(
    content_type: ContentType,
    connection: asyncpg.Connection,
    units: Sequence[content.StagedUnit],
    settings: Settings,
) -> MigratedUnits:
    """Migrate ``deb_release`` units; idempotent."""
    outcomes: list[deb.ReleaseRow | str] = []
    for unit in units:
        try:
            release = decode_release(unit.fields)
        except InvalidDebUnit as error:
            outcomes.append(f"invalid deb_release unit: {error}")
            continue
        keys = dataclasses.asdict(release)
        outcomes.append(
            deb.ReleaseRow(
                content=_content(unit, content_type, keys),
                distribution=release.distribution,
                codename=release.codename,
                suite=release.suite,
            )
        )
    rows, failures = split_outcomes(units, outcomes)
    migrated = await deb.save_releases(connection, content_type.pulp_type, rows)
    return MigratedUnits(migrated=migrated, failures=failures)


def _component_row(
    content_type: ContentType,
    unit: content.StagedUnit,
    component: DebComponent,
    releases: dict[tuple[str, str, str], deb.StagedRelease],
    packages: dict[str, int],
) -> deb.ComponentRow | str:
    release = releases.get((component.repo_id, component.distribution, component.codename))
    if release is None:
        return (
            f"its release (distribution {component.distribution!r}, codename"
            f" {component.codename!r} of repository {component.repo_id}) was not migrated"
        )
    missing = [unit_id for unit_id in component.package_ids if unit_id not in packages]
    if missing:
        return f"names packages not in the dump or not migrated: {', '.join(missing)}"
    package_ids = sorted({packages[unit_id] for unit_id in component.package_ids})
    keys = {
        "distribution": release.distribution,
        "codename": component.codename,
        "suite": release.suite,
        "component": component.name,
        "packages": memberships_digest(package_ids),
    }
    return deb.ComponentRow(
        content=_content(unit, content_type, keys),
        release_id=release.content_id,
        component=component.name,
        package_ids=tuple(package_ids),
    )


def memberships_digest(package_ids: Sequence[int]) -> str:
    """What a component's natural key says of its packages (their content ids, sorted)."""
    return hashlib.sha256(",".join(map(str, package_ids)).encode()).hexdigest()


async def migrate_components(
    content_type: ContentType,
    connection: asyncpg.Connection,
    units: Sequence[content.StagedUnit],
    settings: Settings,
) -> MigratedUnits:
    """Migrate ``deb_component`` units (after releases and packages); idempotent."""
    decoded: dict[int, DebComponent | str] = {}
    for unit in units:
        try:
            decoded[unit.id] = decode_component(unit.fields)
        except InvalidDebUnit as error:
            decoded[unit.id] = f"invalid deb_component unit: {error}"
    components = [c for c in decoded.values() if isinstance(c, DebComponent)]
    releases = await deb.staged_releases(connection, {c.repo_id for c in components})
    packages = await deb.migrated_packages(
        connection, {unit_id for c in components for unit_id in c.package_ids}
    )
    outcomes = [
        found
        if isinstance(found := decoded[unit.id], str)
        else _component_row(content_type, unit, found, releases, packages)
        for unit in units
    ]
    rows, failures = split_outcomes(units, outcomes)
    migrated = await deb.save_components(connection, content_type.pulp_type, rows)
    return MigratedUnits(migrated=migrated, failures=failures)


RELEASES = ContentType(
    pulp2_type="deb_release",
    pulp_type="deb.release",
    natural_key=("distribution", "codename", "suite"),
    repository_key=("distribution", "codename", "suite"),
    description="Migrate Debian releases",
    migrate=migrate_releases,
)
PACKAGES = ContentType(
    pulp2_type="deb",
    pulp_type="deb.package",
    natural_key=("relative_path", "sha256"),
    repository_key=("package", "version", "architecture"),
    description="Migrate Debian packages: files become artifacts, control fields packages",
    migrate=migrate_packages,
)
COMPONENTS = ContentType(
    pulp2_type="deb_component",
    pulp_type="deb.release_component",
    natural_key=("distribution", "codename", "suite", "component", "packages"),
    repository_key=("distribution", "codename", "suite", "component"),
    description="Migrate Debian release components and the packages of each",
    migrate=migrate_components,
    needs=("deb_release", "deb"),
)
