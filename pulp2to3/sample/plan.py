"""A migration plan in pulp-2to3-migration's format covering every repository of a sample."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def migration_plan(repo_ids: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """Each Pulp 2 repository becomes one Pulp 3 repository of the same name and one version.

    ``repo_ids`` maps each plugin type (``iso``, ``rpm``) to its repositories' ids.
    """
    return {
        "plugins": [
            {
                "type": plugin,
                "repositories": [
                    {
                        "name": repo_id,
                        "pulp2_importer_repository_id": repo_id,
                        "repository_versions": [
                            {
                                "pulp2_repository_id": repo_id,
                                "pulp2_distributor_repository_ids": [repo_id],
                            }
                        ],
                    }
                    for repo_id in ids
                ],
            }
            for plugin, ids in repo_ids.items()
            if ids
        ]
    }
