"""The Debian plugin: Pulp 2 ``deb-repo`` repositories become Pulp 3 ``deb.apt`` repositories.

A ``deb_importer`` becomes an APT remote: the shared importer rules (``pulp2_configs``: feed,
policy, TLS, proxy) plus ``releases`` as ``distributions`` (``stable`` when absent),
``components``, ``architectures`` (comma-separated in Pulp 2, space-separated in Pulp 3) and
``gpg_keys`` as ``gpgkey``. A ``deb_distributor`` serves at its ``relative_url`` (or the repo
id). A publication publishes, for each release of its version, the structured layout of
``publish`` under ``dists/<distribution>/`` (stored as artifacts; ``publisher`` streams it) and
each component's packages at their pool paths (on_demand ones too, served from their remote).
When its plan repository asks for ``simple``, the version's packages are also (or, with
``structured`` false, only) published as pulp_deb's simple layout: one release at
``dists/default/`` whose one component ``all`` lists every package of the version.
When its plan repository names a signing service, ``InRelease`` and ``Release.gpg`` are
written beside each ``Release`` (``signing``); otherwise there are none, and apt, which asks
for them first, gets a 404.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg

from pulp2to3.plugins import (
    InvalidImporter,
    NewPublication,
    Plugin,
    Pulp3Types,
    RemoteSpec,
    pulp2_configs,
)
from pulp2to3.settings import Settings

from .content import COMPONENTS, PACKAGES, RELEASES
from .publisher import publish_version

DISTRIBUTOR_TYPE = "deb_distributor"
DEFAULT_RELEASES = "stable"
_LISTS = {"releases": "distributions", "components": "components", "architectures": "architectures"}


def _words(config: Mapping[str, Any], key: str) -> str:
    value = config[key]
    if not isinstance(value, str):
        raise InvalidImporter(f"{key} is {type(value).__name__}, not a comma-separated string")
    return " ".join(part.strip() for part in value.replace(" ", ",").split(",") if part.strip())


def remote_from_importer(config: Mapping[str, Any]) -> RemoteSpec | None:
    """The APT remote a ``deb_importer`` makes; None without a feed."""
    remote = pulp2_configs.remote_from_importer(config)
    if remote is None:
        return None
    options = dict(remote.options)
    for pulp2_key, pulp3_key in _LISTS.items():
        if config.get(pulp2_key) not in (None, ""):
            options[pulp3_key] = _words(config, pulp2_key)
    options.setdefault("distributions", DEFAULT_RELEASES)
    if config.get("gpg_keys") not in (None, ""):
        if not isinstance(config["gpg_keys"], str):
            raise InvalidImporter("gpg_keys is not text")
        options["gpgkey"] = config["gpg_keys"]
    return RemoteSpec(url=remote.url, policy=remote.policy, options=dict(sorted(options.items())))


def publication_options(distributors: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """A structured publication has no options from its distributors."""
    return {}


async def publish(
    connection: asyncpg.Connection, new: Sequence[NewPublication], settings: Settings
) -> None:
    """The layouts each publication's plan repository asks for, of its version."""
    for publication in sorted(new, key=lambda p: p.id):
        await publish_version(connection, publication, settings)


PLUGIN = Plugin(
    type="deb",
    pulp2_repo_type="deb-repo",
    content_types=(RELEASES, PACKAGES, COMPONENTS),
    pulp3=Pulp3Types(
        repository="deb.apt",
        remote="deb.apt",
        publication="deb.apt",
        distribution="deb.apt",
    ),
    distributor_types=(DISTRIBUTOR_TYPE,),
    remote_from_importer=remote_from_importer,
    publication_options=publication_options,
    base_path=pulp2_configs.base_path,
    publish=publish,
    layouts=True,
)
