"""A migration plan in pulp-2to3-migration's format covering every repository of a sample."""

from __future__ import annotations

from typing import Any

from .population import RepoSpec


def migration_plan(repos: list[RepoSpec]) -> dict[str, Any]:
    """Each Pulp 2 repository becomes one Pulp 3 repository of the same name and one version."""
    return {
        "plugins": [
            {
                "type": "iso",
                "repositories": [
                    {
                        "name": repo.repo_id,
                        "pulp2_importer_repository_id": repo.repo_id,
                        "repository_versions": [
                            {
                                "pulp2_repository_id": repo.repo_id,
                                "pulp2_distributor_repository_ids": [repo.repo_id],
                            }
                        ],
                    }
                    for repo in repos
                ],
            }
        ]
    }
