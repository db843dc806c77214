"""``yum_distributor`` configs to publication settings and a base path.

A ``yum_importer`` takes the importer rules every plugin shares (``pulp2_configs``: feed,
policy, TLS, proxy, basic auth); the API hides the secrets of every remote alike.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from pulp2to3.plugins import pulp2_configs

from . import checksums

IMPORTER_TYPE = "yum_importer"
DISTRIBUTOR_TYPE = "yum_distributor"
UNMIGRATED_DISTRIBUTOR_TYPES = ("export_distributor",)
"""Distributor types that have no Pulp 3 counterpart: reported as not migrated, by name."""

base_path = pulp2_configs.base_path


@dataclasses.dataclass(frozen=True)
class PublicationSettings:
    checksum_type: str
    generate_sqlite: bool


class InvalidDistributor(ValueError):
    """A distributor whose config cannot make a publication (a per-distribution failure)."""


def publication_settings(
    config: Mapping[str, Any], package_checksum_type: str | None
) -> PublicationSettings:
    """The distributor's ``checksum_type`` (``sha`` is sha1), else ``package_checksum_type``
    (the type of the repository's packages), else sha256; ``generate_sqlite`` as configured.
    """
    chosen = config.get("checksum_type") or package_checksum_type or checksums.DEFAULT
    try:
        checksum_type = checksums.normalize(chosen)
    except checksums.UnknownChecksumType as error:
        raise InvalidDistributor(str(error)) from error
    sqlite = config.get("generate_sqlite", False)
    if not isinstance(sqlite, bool):
        raise InvalidDistributor(f"generate_sqlite {sqlite!r} is not a boolean")
    return PublicationSettings(checksum_type=checksum_type, generate_sqlite=sqlite)
