"""The create_publications step on a real PostgreSQL and a media root under tmp_path."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import asyncpg
import pytest

from pulp2to3.actors import repo_versions, repositories
from pulp2to3.actors.publications import STEP, plan_publication_batches
from pulp2to3.actors.steps import BatchResult, Migration
from pulp2to3.store import publications as store
from tests.database_support import NewMigration
from tests.repository_steps_support import (
    PLAN,
    Source,
    World,
    assert_rerun_changes_nothing,
    build_world,
    run_batch,
    run_step,
    settings_with_media,
)

# No worker is live here: the input is one part.
ALL = {"versions": [["alpha", 2], ["beta", 1], ["gamma", 1]], "parts": 1}


async def prepare(
    pool: asyncpg.Pool, new_migration: NewMigration, media: Path, plan: dict[str, Any] = PLAN
) -> tuple[Migration, World]:
    world = await build_world(pool)
    migration = await new_migration(plan, settings_with_media(media))
    await run_step(pool, repositories.STEP, migration)
    await run_step(pool, repo_versions.STEP, migration)
    return migration, world


def manifest(*entries: Any) -> str:
    return "".join(f"{u.name},{u.sha256},{u.size}\n" for u in entries)


async def published(pool: asyncpg.Pool) -> dict[tuple[str, int], dict[str, Any]]:
    """Per (repository, version): its publication's files and its PULP_MANIFEST artifact."""
    async with pool.acquire() as connection:
        publications = await connection.fetch(
            "SELECT p.id, p.pulp_type, r.name, v.number FROM publication p"
            " JOIN repository_version v ON v.id = p.repository_version_id"
            " JOIN repository r ON r.id = v.repository_id"
        )
        result: dict[tuple[str, int], dict[str, Any]] = {}
        for p in publications:
            files = await connection.fetch(
                "SELECT relative_path, content_artifact_id FROM published_artifact"
                " WHERE publication_id = $1",
                p["id"],
            )
            metadata = await connection.fetch(
                "SELECT pm.relative_path, a.sha256, a.size, a.file FROM published_metadata pm"
                " JOIN artifact a ON a.id = pm.artifact_id WHERE pm.publication_id = $1",
                p["id"],
            )
            result[p["name"], p["number"]] = {
                "id": p["id"],
                "pulp_type": p["pulp_type"],
                "files": {f["relative_path"]: f["content_artifact_id"] for f in files},
                "metadata": [dict(m) for m in metadata],
            }
    return result


async def test_versions_with_distributors_are_planned(
    pool: asyncpg.Pool, new_migration: NewMigration
) -> None:
    migration = await new_migration(PLAN)
    async with pool.acquire() as connection:
        batches = await plan_publication_batches(connection, migration)
    assert [(b.key, b.units, b.args) for b in batches] == [("publications-0", 3, ALL)]
    assert STEP.code == "create_publications"
    assert STEP.actor.name == "pulp2to3.create_publications"


async def test_many_versions_make_several_batches(
    pool: asyncpg.Pool, new_migration: NewMigration
) -> None:
    version = {"pulp2_repository_id": "x", "pulp2_distributor_repository_ids": ["x"]}
    plan = {
        "plugins": [
            {
                "type": "iso",
                "repositories": [
                    {"name": f"r{i}", "repository_versions": [version, version, version]}
                    for i in range(10)
                ],
            }
        ]
    }
    migration = await new_migration(plan)
    async with pool.acquire() as connection:
        batches = await plan_publication_batches(connection, migration)
    assert [(b.key, b.units) for b in batches] == [("publications-0", 20), ("publications-1", 10)]
    assert batches[1].args["versions"][0] == ["r6", 3]


# The files come from the server this many at a time: by default all at once; one a fetch; and
# three, which cuts beta's four across two fetches.
@pytest.mark.parametrize("prefetch", [None, 1, 3])
async def test_each_version_is_published_with_its_manifest(
    pool: asyncpg.Pool,
    new_migration: NewMigration,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    prefetch: int | None,
) -> None:
    if prefetch is not None:
        monkeypatch.setattr(store, "MANIFEST_PREFETCH", prefetch)
    media = tmp_path / "media"
    run, world = await prepare(pool, new_migration, media)
    assert await run_batch(pool, STEP, run, ALL) == BatchResult(done=3, created=ANY)
    u = world.units
    result = await published(pool)
    assert set(result) == {("alpha", 2), ("beta", 1), ("gamma", 1)}
    assert {p["pulp_type"] for p in result.values()} == {"file.file"}
    assert result["beta", 1]["files"] == {
        "a.iso": u["u-a"].content_artifact_id,
        "c.iso": u["u-c"].content_artifact_id,  # on_demand: its artifact is null
        "d.iso": u["u-d"].content_artifact_id,
        "Z.iso": u["u-z"].content_artifact_id,
    }
    assert result["alpha", 2]["files"] == {
        "b.iso": u["u-b"].content_artifact_id,
        "e.iso": u["u-e"].content_artifact_id,
    }
    expected = {
        ("alpha", 2): manifest(u["u-b"], u["u-e"]),
        # Code point order: "Z" before "a", whatever the database's collation.
        ("beta", 1): manifest(u["u-z"], u["u-a"], u["u-c"], u["u-d"]),
        ("gamma", 1): manifest(u["u-d"]),
    }
    for key, text in expected.items():
        (metadata,) = result[key]["metadata"]
        data = text.encode()
        sha = hashlib.sha256(data).hexdigest()
        assert metadata == {
            "relative_path": "PULP_MANIFEST",
            "sha256": sha,
            "size": len(data),
            "file": f"artifact/{sha[:2]}/{sha[2:]}",
        }
        assert (media / metadata["file"]).read_bytes() == data
    leftovers = [p.name for p in (media / "artifact").iterdir() if p.is_file()]
    assert leftovers == []  # no temporary file stays behind
    async with pool.acquire() as connection:
        distributors = {
            (r["pulp2_repo_id"], r["distributor_id"]): r["pulp3_publication_id"]
            for r in await connection.fetch(
                "SELECT pulp2_repo_id, distributor_id, pulp3_publication_id FROM pulp2_distributor"
            )
        }
    assert distributors == {
        ("alpha", "iso_distributor"): result["alpha", 2]["id"],
        ("beta", "iso_distributor"): result["beta", 1]["id"],
        ("beta", "export_distributor"): None,  # not an ISO distributor
        ("gamma", "iso_distributor"): result["gamma", 1]["id"],
        ("gamma", "iso_distributor_2"): result["gamma", 1]["id"],
    }


async def test_an_empty_version_publishes_an_empty_manifest(
    pool: asyncpg.Pool, new_migration: NewMigration, tmp_path: Path
) -> None:
    async with pool.acquire() as connection:
        await Source(connection).repo("empty")
    plan = {
        "plugins": [
            {
                "type": "iso",
                "repositories": [
                    {
                        "name": "empty",
                        "repository_versions": [
                            {
                                "pulp2_repository_id": "empty",
                                "pulp2_distributor_repository_ids": ["x"],
                            }
                        ],
                    }
                ],
            }
        ]
    }
    run, _ = await prepare(pool, new_migration, tmp_path / "media", plan)
    assert await run_batch(pool, STEP, run, {"versions": [["empty", 1]]}) == BatchResult(
        done=1, created=ANY
    )
    (metadata,) = (await published(pool))["empty", 1]["metadata"]
    assert metadata["sha256"] == hashlib.sha256(b"").hexdigest()
    assert (tmp_path / "media" / metadata["file"]).read_bytes() == b""


async def test_a_version_that_was_not_created_fails(
    pool: asyncpg.Pool, new_migration: NewMigration, tmp_path: Path
) -> None:
    await build_world(pool)
    migration = await new_migration(PLAN, settings_with_media(tmp_path / "media"))
    await run_step(pool, repositories.STEP, migration)  # no versions step
    result = await run_batch(pool, STEP, migration, ALL)
    assert result.done == 0
    assert result.failures == tuple(
        (label, "the repository version was not created")
        for label in ("alpha version 2", "beta version 1", "gamma version 1")
    )


async def test_running_a_batch_twice_publishes_once(
    pool: asyncpg.Pool, new_migration: NewMigration, tmp_path: Path
) -> None:
    run, _ = await prepare(pool, new_migration, tmp_path / "media")
    await assert_rerun_changes_nothing(pool, STEP, run, ALL)


async def test_two_copies_of_a_batch_at_once_publish_once(
    pool: asyncpg.Pool, new_migration: NewMigration, tmp_path: Path
) -> None:
    """A batch retried while its first attempt still runs: the unique index decides."""
    run, _ = await prepare(pool, new_migration, tmp_path / "media")
    results = await asyncio.gather(run_batch(pool, STEP, run, ALL), run_batch(pool, STEP, run, ALL))
    assert results == [BatchResult(done=3, created=ANY), BatchResult(done=3, created=ANY)]
    async with pool.acquire() as connection:
        assert await connection.fetchval("SELECT count(*) FROM publication") == 3
        assert await connection.fetchval("SELECT count(*) FROM published_metadata") == 3


async def test_identical_manifests_in_concurrent_batches_share_one_artifact(
    pool: asyncpg.Pool, new_migration: NewMigration, tmp_path: Path
) -> None:
    version = {"pulp2_repository_id": "beta", "pulp2_distributor_repository_ids": ["beta"]}
    plan = {
        "plugins": [
            {
                "type": "iso",
                "repositories": [
                    {"name": f"b{i}", "repository_versions": [version]} for i in range(4)
                ],
            }
        ]
    }
    media = tmp_path / "media"
    run, _ = await prepare(pool, new_migration, media, plan)
    results = await asyncio.gather(
        run_batch(pool, STEP, run, {"versions": [["b0", 1], ["b1", 1]]}),
        run_batch(pool, STEP, run, {"versions": [["b3", 1], ["b2", 1]]}),
    )
    assert results == [BatchResult(done=2, created=ANY), BatchResult(done=2, created=ANY)]
    result = await published(pool)
    assert len(result) == 4
    assert len({p["metadata"][0]["sha256"] for p in result.values()}) == 1
    async with pool.acquire() as connection:
        manifests = await connection.fetchval(
            "SELECT count(*) FROM artifact WHERE id IN (SELECT artifact_id FROM published_metadata)"
        )
    assert manifests == 1
    files = [p for p in (media / "artifact").rglob("*") if p.is_file()]
    assert len(files) == 1
