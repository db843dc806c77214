"""Which repositories, importers and distributors a Pulp 2 dump holds (what plans refer to)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from .dump import Dump

_COLLECTIONS = ("repos", "repo_importers", "repo_distributors")


@dataclasses.dataclass(frozen=True)
class Inventory:
    # repo_id -> its `notes._repo-type` (None when the repository has no type note)
    repositories: Mapping[str, str | None]
    importers: frozenset[str]  # repo ids with an importer
    distributors: frozenset[str]  # repo ids with at least one distributor

    def repositories_of_type(self, repo_type: str) -> list[str]:
        return sorted(repo for repo, kind in self.repositories.items() if kind == repo_type)


def read_inventory(dump: Dump) -> Inventory:
    repositories: dict[str, str | None] = {}
    importers: set[str] = set()
    distributors: set[str] = set()
    for collection, document in dump.iter_documents(_COLLECTIONS):
        repo_id = document.get("repo_id")
        if not isinstance(repo_id, str):
            continue
        if collection == "repos":
            notes = document.get("notes")
            kind = notes.get("_repo-type") if isinstance(notes, dict) else None
            repositories[repo_id] = kind if isinstance(kind, str) else None
        elif collection == "repo_importers":
            importers.add(repo_id)
        else:
            distributors.add(repo_id)
    return Inventory(repositories, frozenset(importers), frozenset(distributors))
