"""A second plugin (tests/blob_plugin.py) migrates beside ISO through the same steps.

The dump holds an ISO repository and two blob repositories; the plan takes both plugins whole.
Every step ``steps_for`` gives runs in the order given, each batch as its task runs it, from
premigrate to create_distributions: each plugin's content, repositories, remotes, versions,
publications and distributions come out with that plugin's types, keys and rules.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from pulp2to3.actors.registry import steps_for
from pulp2to3.actors.steps import BatchResult, Migration
from pulp2to3.plan import expand, parse_plan, plan_to_json
from pulp2to3.plugins.registry import PLUGINS
from pulp2to3.sample.writer import FolderDumpWriter
from pulp2to3.settings import load_settings
from tests import blob_plugin
from tests.steps_support import run_step

NewMigration = Callable[..., Awaitable[Migration]]


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def key(*values: Any) -> str:
    return json.dumps(values, separators=(",", ":"))


ISO_UNITS = {"iso-a": ("a.iso", 10), "iso-b": ("b.iso", 20)}
BLOBS = {"blob-x": "x.bin", "blob-y": "y.bin"}
TAG_ID = "tag-1"


def write_dump(out: Path) -> Path:
    """A Pulp 2 dump (mongodump folder) of one ISO and two blob repositories."""
    created = "2024-01-02T03:04:05Z"
    with FolderDumpWriter(out, "pulp_database", compress=False) as writer:
        repos = writer.collection("repos")
        for repo_id, repo_type in (
            ("iso-1", "iso-repo"),
            ("blob-1", "blob-repo"),
            ("blob-2", "blob-repo"),
        ):
            repos.write(
                {"_id": f"r-{repo_id}", "repo_id": repo_id, "notes": {"_repo-type": repo_type}}
            )
        importers = writer.collection("repo_importers")
        importers.write(
            {
                "_id": "i-iso",
                "repo_id": "iso-1",
                "importer_type_id": "iso_importer",
                "config": {"feed": "https://iso.example/", "download_policy": "on_demand"},
            }
        )
        importers.write(
            {
                "_id": "i-blob",
                "repo_id": "blob-1",
                "importer_type_id": "blob_importer",
                "config": {"url": "https://blob.example/"},
            }
        )
        importers.write(  # no url: nothing to sync from, no remote
            {
                "_id": "i-blob-2",
                "repo_id": "blob-2",
                "importer_type_id": "blob_importer",
                "config": {},
            }
        )
        distributors = writer.collection("repo_distributors")
        for repo_id, type_id, config in (
            ("iso-1", "iso_distributor", {"relative_url": "/pub/iso/"}),
            ("blob-1", "blob_distributor", {"index_name": "BLOBS.txt"}),
            ("blob-2", "blob_distributor", {"path": "shelf"}),
        ):
            distributors.write(
                {
                    "_id": f"d-{repo_id}",
                    "repo_id": repo_id,
                    "distributor_id": type_id,
                    "distributor_type_id": type_id,
                    "config": config,
                }
            )
        memberships = writer.collection("repo_content_units")
        catalog = writer.collection("lazy_content_catalog")
        units = writer.collection("units_iso")
        for unit_id, (name, size) in ISO_UNITS.items():
            units.write(
                {
                    "_id": unit_id,
                    "_last_updated": 1,
                    "downloaded": False,
                    "name": name,
                    "checksum": sha(name),
                    "size": size,
                }
            )
            memberships.write(
                {"repo_id": "iso-1", "unit_id": unit_id, "unit_type_id": "iso", "created": created}
            )
            catalog.write(
                {
                    "importer_id": "i-iso",
                    "unit_id": unit_id,
                    "unit_type_id": "iso",
                    "url": f"https://iso.example/{name}",
                    "checksum": sha(name),
                    "checksum_algorithm": "sha256",
                }
            )
        units = writer.collection("units_blob")
        for unit_id, name in BLOBS.items():
            units.write({"_id": unit_id, "_last_updated": 1, "name": name, "sha256": sha(name)})
            for repo_id in ("blob-1", "blob-2"):
                memberships.write(
                    {
                        "repo_id": repo_id,
                        "unit_id": unit_id,
                        "unit_type_id": "blob",
                        "created": created,
                    }
                )
            catalog.write(
                {
                    "importer_id": "i-blob",
                    "unit_id": unit_id,
                    "unit_type_id": "blob",
                    "url": f"https://blob.example/{name}",
                }
            )
        tags = writer.collection("units_blob_tag")
        tags.write({"_id": TAG_ID, "_last_updated": 1, "name": "latest", "blob": sha("y.bin")})
        memberships.write(
            {"repo_id": "blob-1", "unit_id": TAG_ID, "unit_type_id": "blob_tag", "created": created}
        )
    return out


async def rows(pool: asyncpg.Pool, sql: str) -> set[tuple[Any, ...]]:
    async with pool.acquire() as connection:
        return {tuple(row.values()) for row in await connection.fetch(sql)}


async def run_all_steps(pool: asyncpg.Pool, migration: Migration) -> dict[str, list[BatchResult]]:
    """Every step of the plan, in order; each batch in a transaction, as its task runs it."""
    results: dict[str, list[BatchResult]] = {}
    for step in steps_for(migration.plan):
        results[step.code] = await run_step(pool, migration, step)
    return results


@pytest.fixture
def with_blobs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(PLUGINS, blob_plugin.PLUGIN.type, blob_plugin.PLUGIN)


async def test_a_second_plugin_migrates_beside_iso_through_the_same_steps(
    pool: asyncpg.Pool, new_migration: NewMigration, tmp_path: Path, with_blobs: None
) -> None:
    settings = dataclasses.replace(
        load_settings({}),
        pulp2_dump=write_dump(tmp_path / "dump"),
        pulp2_root=tmp_path / "pulp",
        media_root=tmp_path / "media",
    )
    plan = parse_plan({"plugins": [{"type": "iso"}, {"type": "blob"}]})
    expanded = expand(plan, {"iso": ["iso-1"], "blob": ["blob-1", "blob-2"]})
    migration = await new_migration(plan_to_json(expanded), settings)

    results = await run_all_steps(pool, migration)

    assert list(results) == [
        "premigrate",
        "premigrate_merge",
        "migrate_content.iso",
        "migrate_content.blob",
        "migrate_content.blob_tag",  # declared before blob, which it needs
        "compute_version_content",
        "create_repositories",
        "create_repo_versions",
        "create_publications",
        "create_distributions",
    ]
    done = {code: sum(r.done for r in batches) for code, batches in results.items()}
    assert done == {
        "premigrate": 4,  # one per part of the dump (MAX_PARTS)
        "premigrate_merge": 1,  # one key range per live worker: none here
        "migrate_content.iso": 2,
        "migrate_content.blob": 2,
        "migrate_content.blob_tag": 1,
        "compute_version_content": 1,
        "create_repositories": 3,
        "create_repo_versions": 3,
        "create_publications": 3,
        "create_distributions": 3,
    }
    assert [f for batches in results.values() for r in batches for f in r.failures] == []

    # Content: each type its own Pulp 3 type and natural key (a blob's has no size).
    assert await rows(pool, "SELECT pulp_type, natural_key, repo_key FROM content") == {
        ("file.file", key("a.iso", sha("a.iso"), 10), "a.iso"),
        ("file.file", key("b.iso", sha("b.iso"), 20), "b.iso"),
        ("blob.blob", key("x.bin", sha("x.bin")), "x.bin"),
        ("blob.blob", key("y.bin", sha("y.bin")), "y.bin"),
        ("blob.tag", key("tags/latest", sha("y.bin")), "tags/latest"),
    }
    # Repositories and remotes of each plugin's types, remotes from each plugin's importer rules.
    assert await rows(pool, "SELECT name, pulp_type FROM repository") == {
        ("iso-1", "file.file"),
        ("blob-1", "blob.repository"),
        ("blob-2", "blob.repository"),
    }
    assert await rows(pool, "SELECT name, pulp_type, url, policy FROM remote") == {
        ("iso-1", "file.file", "https://iso.example/", "on_demand"),
        ("blob-1", "blob.remote", "https://blob.example/", "on_demand"),
    }
    assert await rows(pool, "SELECT url FROM remote_artifact") == {
        ("https://iso.example/a.iso",),
        ("https://iso.example/b.iso",),
        ("https://blob.example/x.bin",),
        ("https://blob.example/y.bin",),
    }
    # Versions hold their Pulp 2 repository's content, whatever its types.
    assert await rows(
        pool,
        "SELECT r.name, v.number, c.repo_key FROM repository_content rc"
        " JOIN repository r ON r.id = rc.repository_id JOIN content c ON c.id = rc.content_id"
        " JOIN repository_version v ON v.repository_id = r.id AND v.number = rc.version_added",
    ) == {
        ("iso-1", 1, "a.iso"),
        ("iso-1", 1, "b.iso"),
        ("blob-1", 1, "x.bin"),
        ("blob-1", 1, "y.bin"),
        ("blob-1", 1, "tags/latest"),
        ("blob-2", 1, "x.bin"),
        ("blob-2", 1, "y.bin"),
    }
    # Publications: each plugin's type and metadata, the blob index named by its distributor.
    published = await rows(
        pool,
        "SELECT r.name, p.pulp_type, pm.relative_path, a.file FROM publication p"
        " JOIN repository_version v ON v.id = p.repository_version_id"
        " JOIN repository r ON r.id = v.repository_id"
        " JOIN published_metadata pm ON pm.publication_id = p.id"
        " JOIN artifact a ON a.id = pm.artifact_id",
    )
    texts = {
        (name, pulp_type, path): (settings.media_root / file).read_text()
        for name, pulp_type, path, file in published
    }
    assert texts == {
        ("iso-1", "file.file", "PULP_MANIFEST"): f"a.iso,{sha('a.iso')},10\n"
        f"b.iso,{sha('b.iso')},20\n",
        ("blob-1", "blob.publication", "BLOBS.txt"): "tags/latest\nx.bin\ny.bin\n",
        ("blob-2", "blob.publication", "INDEX"): "x.bin\ny.bin\n",
    }
    assert await rows(
        pool,
        "SELECT r.name, count(*) FROM published_artifact pa"
        " JOIN publication p ON p.id = pa.publication_id"
        " JOIN repository_version v ON v.id = p.repository_version_id"
        " JOIN repository r ON r.id = v.repository_id GROUP BY r.name",
    ) == {("iso-1", 2), ("blob-1", 3), ("blob-2", 2)}
    # Distributions at each plugin's base paths, of its type; every distributor migrated.
    assert await rows(pool, "SELECT name, pulp_type, base_path FROM distribution") == {
        ("iso-1-iso_distributor", "file.file", "pub/iso"),
        ("blob-1-blob_distributor", "blob.distribution", "blobs/blob-1"),
        ("blob-2-blob_distributor", "blob.distribution", "blobs/shelf"),
    }
    assert await rows(pool, "SELECT pulp2_repo_id, is_migrated FROM pulp2_distributor") == {
        ("iso-1", True),
        ("blob-1", True),
        ("blob-2", True),
    }

    # Run again: every step finds its work done and changes nothing.
    again = await run_all_steps(pool, migration)
    assert {code: sum(r.done for r in batches) for code, batches in again.items()} == {
        **done,
        "migrate_content.iso": 0,  # nothing left to migrate: no batch
        "migrate_content.blob": 0,
        "migrate_content.blob_tag": 0,
    }
