"""The ``rpm`` and ``srpm`` content types: staged Pulp 2 packages become ``rpm.package``.

Each unit's ``repodata`` snippets are decoded (``packages.decode_package``; premigrate staged
the binary snippets as base64 text), the files of downloaded units become artifacts
(``plugins.unit_files``), and the batch is written set-based with the package fields the
publisher needs (``store.rpm``). An on_demand package gets a content artifact without a file;
the repositories step gives it a remote artifact from the lazy catalog. A unit that cannot be
migrated is a per-unit failure, named with its reason; the rest of the batch goes on.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg

from pulp2to3 import storage
from pulp2to3.plugins import ContentType, MigratedUnits, split_outcomes, unit_files
from pulp2to3.settings import Settings
from pulp2to3.store import content, rpm

from .errors import InvalidRpmUnit
from .packages import RpmPackage, decode_package

PULP_TYPE = "rpm.package"
NATURAL_KEY = ("name", "epoch", "version", "release", "arch", "checksum_type", "pkgId")
REPOSITORY_KEY = ("name", "epoch", "version", "release", "arch", "location_href")


def staged_binary(fields: Mapping[str, Any], content_type: str, name: str, value: Any) -> bytes:
    """A binary value premigrate staged as base64 text, as bytes again."""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, TypeError, ValueError) as error:
        raise InvalidRpmUnit.of(fields, content_type, f"{name} is not binary data") from error


def staged_fields(unit: content.StagedUnit, content_type: ContentType) -> dict[str, Any]:
    """The unit's document as the decoders take it: ``_id`` and ``_storage_path`` back, its
    binary fields (and the ``repodata`` snippets) binary again."""
    kind = content_type.pulp2_type
    fields = {**unit.fields, "_id": unit.pulp2_id, "_storage_path": unit.storage_path}
    for name in content_type.binary_fields:
        if isinstance(fields.get(name), str):
            fields[name] = staged_binary(fields, kind, name, fields[name])
    repodata = fields.get("repodata")
    if isinstance(repodata, Mapping):
        fields["repodata"] = {
            name: staged_binary(fields, kind, f"repodata.{name}", value)
            for name, value in repodata.items()
        }
    return fields


def key_fields(package: RpmPackage) -> dict[str, Any]:
    """The Pulp 3 fields of the package's natural and repository keys."""
    return {
        "name": package.name,
        "epoch": package.epoch,
        "version": package.version,
        "release": package.release,
        "arch": package.arch,
        "checksum_type": package.checksum_type,
        "pkgId": package.pkg_id,
        "location_href": package.location_href,
    }


def package_size(fields: Mapping[str, Any], content_type: str) -> int:
    size = fields.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise InvalidRpmUnit.of(fields, content_type, f"size {size!r} is not a byte count")
    return size


def _row(
    content_type: ContentType,
    unit: content.StagedUnit,
    decoded: tuple[RpmPackage, int],
    stored: storage.StoredArtifact | None,
) -> rpm.PackageRow:
    package, size = decoded
    keys = key_fields(package)
    fields = dataclasses.asdict(package)
    del fields["content_type"]
    return rpm.PackageRow(
        content=content.FileContentRow(
            unit_id=unit.id,
            natural_key=content_type.natural_key_of(keys),
            repo_key=content_type.repository_key_of(keys),
            relative_path=package.location_href,
            digest=package.pkg_id,
            size=size if stored is None else stored.size,
            artifact=None if stored is None else content.ArtifactRow.of(stored),
        ),
        fields=fields,
    )


def _decode(content_type: ContentType, unit: content.StagedUnit) -> tuple[RpmPackage, int] | str:
    """The unit's package and the size of its file, or why it is invalid."""
    kind = content_type.pulp2_type
    try:
        fields = staged_fields(unit, content_type)
        return decode_package(fields, kind), package_size(fields, kind)
    except InvalidRpmUnit as error:
        return error.reason


def _expected(decoded: tuple[RpmPackage, int]) -> tuple[int, str | None]:
    """The file's size, and its sha256 when Pulp 2 recorded one (otherwise it is hashed)."""
    package, size = decoded
    return size, package.pkg_id if package.checksum_type == "sha256" else None


async def migrate_packages(
    content_type: ContentType,
    connection: asyncpg.Connection,
    units: Sequence[content.StagedUnit],
    settings: Settings,
) -> MigratedUnits:
    """Migrate ``rpm`` or ``srpm`` units (locked by the batch); idempotent, as it upserts on
    natural keys."""
    outcomes = await unit_files.units_with_artifacts(
        units,
        settings,
        functools.partial(_decode, content_type),
        _expected,
        functools.partial(_row, content_type),
    )
    rows, failures = split_outcomes(units, outcomes)
    migrated = await rpm.save_packages(connection, content_type.pulp_type, rows)
    return MigratedUnits(migrated=migrated, failures=failures)


RPM = ContentType(
    pulp2_type="rpm",
    pulp_type=PULP_TYPE,
    natural_key=NATURAL_KEY,
    repository_key=REPOSITORY_KEY,
    description="Migrate RPM packages: files become artifacts, repodata becomes packages",
    migrate=migrate_packages,
)
SRPM = dataclasses.replace(
    RPM,
    pulp2_type="srpm",
    description="Migrate source RPM packages, as binary ones",
)


async def count_drpms(
    content_type: ContentType,
    connection: asyncpg.Connection,
    units: Sequence[content.StagedUnit],
    settings: Settings,
) -> MigratedUnits:
    """Delta RPMs have no Pulp 3 counterpart: each is named as not migrated."""
    reason = "a delta RPM (drpm) has no Pulp 3 counterpart: not migrated"
    return MigratedUnits(migrated=0, failures=tuple((unit.pulp2_id, reason) for unit in units))


DRPM = ContentType(
    pulp2_type="drpm",
    pulp_type="rpm.drpm",
    natural_key=("filename",),
    repository_key=("filename",),
    description="Count delta RPMs: they are not migrated",
    migrate=count_drpms,
)
