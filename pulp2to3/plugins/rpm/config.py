"""``yum_importer`` and ``yum_distributor`` configs to an RPM remote, publication settings and
a base path.

The importer options an RPM remote takes are the ones an ISO remote takes (feed, policy, TLS,
proxy, basic auth), so the ISO rules are used as they are; what RPM adds is which of them are
secrets: kept for syncing, but listed as hidden fields and never shown, as Pulp 3 does.
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
SECRET_OPTIONS = ("client_key", "password", "proxy_password")

base_path = pulp2_configs.base_path


@dataclasses.dataclass(frozen=True)
class RpmRemote:
    url: str
    policy: str
    options: Mapping[str, Any]
    """Every option, secrets included: what syncing needs. Show :meth:`shown_options`."""

    def shown_options(self) -> dict[str, Any]:
        """The options without the secrets."""
        return {key: value for key, value in self.options.items() if key not in SECRET_OPTIONS}

    def hidden_fields(self) -> list[dict[str, Any]]:
        """Pulp 3's ``hidden_fields``: each secret's name and whether it is set, not its value."""
        return [{"name": name, "is_set": name in self.options} for name in SECRET_OPTIONS]


def remote_from_importer(config: Mapping[str, Any]) -> RpmRemote | None:
    """The remote a ``yum_importer`` config makes; None when it has no feed."""
    spec = pulp2_configs.remote_from_importer(config)
    if spec is None:
        return None
    return RpmRemote(url=spec.url, policy=spec.policy, options=spec.options)


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
