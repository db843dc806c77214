"""The Pulp 2 MongoDB documents of a sample population, one builder per collection."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from .population import DistributorSpec, ObjectIds, RepoSpec, UnitSpec

Document = dict[str, Any]

UNIT_TYPE = "iso"
UNITS_COLLECTION = "units_iso"
_EPOCH = datetime(1970, 1, 1)


def iso8601(moment: datetime) -> str:
    """The string form Pulp 2 uses in ``repo_content_units``: ``2019-10-31T18:32:26Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def repo_document(repo: RepoSpec, unit_count: int, last_unit_added: datetime | None) -> Document:
    document: Document = {
        "_id": repo.object_id,
        "repo_id": repo.repo_id,
        "display_name": f"ISO repository {repo.index}",
        "description": f"Sample ISO repository {repo.repo_id}",
        "notes": {"_repo-type": "iso-repo"},
        "scratchpad": {},
        "content_unit_counts": {UNIT_TYPE: unit_count} if unit_count else {},
        "_ns": "repos",
    }
    if last_unit_added is not None:
        document["last_unit_added"] = last_unit_added
    return document


def importer_document(repo: RepoSpec) -> Document:
    config: Document = {"feed": repo.feed, "ssl_validation": True}
    if repo.policy_written:
        config["download_policy"] = "on_demand" if repo.on_demand else "immediate"
    return {
        "_id": repo.importer_object_id,
        "repo_id": repo.repo_id,
        "importer_type_id": "iso_importer",
        "config": config,
        "last_sync": iso8601(repo.last_sync),
        "last_updated": repo.last_sync,
        "last_override_config": {},
        "scratchpad": None,
        "_ns": "repo_importers",
    }


def distributor_document(repo: RepoSpec, distributor: DistributorSpec) -> Document:
    config: Document = {
        "serve_http": distributor.serve_http,
        "serve_https": distributor.serve_https,
    }
    if distributor.relative_url is not None:
        config["relative_url"] = distributor.relative_url
    return {
        "_id": distributor.object_id,
        "repo_id": repo.repo_id,
        "distributor_id": distributor.distributor_id,
        "distributor_type_id": "iso_distributor",
        "config": config,
        "auto_publish": distributor.auto_publish,
        "last_publish": distributor.last_publish,
        "last_updated": distributor.last_updated,
        "last_override_config": {},
        "scratchpad": {},
        "_ns": "repo_distributors",
    }


def unit_document(unit: UnitSpec) -> Document:
    # Pulp 2 sets _storage_path for on_demand units too; ``downloaded`` says if the file is there.
    return {
        "_id": unit.unit_id,
        "_content_type_id": UNIT_TYPE,
        "_last_updated": int((unit.added - _EPOCH).total_seconds()),
        "_storage_path": unit.storage_path,
        "downloaded": unit.downloaded,
        "pulp_user_metadata": {},
        "name": unit.name,
        "checksum": unit.checksum,
        "size": unit.size,
        "_ns": UNITS_COLLECTION,
    }


def membership_documents(unit: UnitSpec, repos: list[RepoSpec], ids: ObjectIds) -> list[Document]:
    stamp = iso8601(unit.added)
    return [
        {
            "_id": ids.new(unit.added),
            "repo_id": repos[index].repo_id,
            "unit_id": unit.unit_id,
            "unit_type_id": UNIT_TYPE,
            "created": stamp,
            "updated": stamp,
        }
        for index in unit.repos
    ]


def lazy_catalog_documents(unit: UnitSpec, repos: list[RepoSpec], ids: ObjectIds) -> list[Document]:
    """One entry per on_demand importer the unit can be fetched from; none once downloaded."""
    if unit.downloaded:
        return []
    return [
        {
            "_id": ids.new(unit.added),
            "importer_id": str(repos[index].importer_object_id),
            "unit_id": unit.unit_id,
            "unit_type_id": UNIT_TYPE,
            "url": repos[index].feed + unit.name,
            "path": unit.storage_path,
            "checksum": unit.checksum,
            "checksum_algorithm": "sha256",
            "revision": 0,
        }
        for index in unit.repos
        if repos[index].on_demand
    ]


def user_documents(ids: ObjectIds, at: datetime) -> list[Document]:
    """Pulp 2's users: a collection the migration must skip."""
    return [
        {
            "_id": ids.new(at),
            "login": "admin",
            "name": "admin",
            "password": "sample-not-a-real-password-hash",
            "roles": ["super-users"],
        }
    ]


def task_documents(repos: list[RepoSpec], ids: ObjectIds) -> list[Document]:
    """One finished sync task per repository: another collection the migration must skip."""
    return [
        {
            "_id": ids.new(repo.last_sync),
            "task_id": str(uuid.UUID(bytes=repo.importer_object_id.binary + b"task", version=4)),
            "task_type": "pulp.server.managers.repo.sync.sync",
            "state": "finished",
            "start_time": iso8601(repo.last_sync),
            "finish_time": iso8601(repo.last_sync + timedelta(minutes=5)),
            "tags": [f"pulp:repository:{repo.repo_id}", "pulp:action:sync"],
            "error": None,
        }
        for repo in repos
    ]
