"""The create_repositories step on a real PostgreSQL, from the world of
``tests.repository_steps_support``."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from unittest.mock import ANY

import asyncpg

from pulp2to3.actors.repositories import STEP, plan_repository_batches
from pulp2to3.actors.steps import BatchResult
from pulp2to3.store import repositories as store
from tests.database_support import NewMigration, backends_waiting_on_a_lock
from tests.repository_steps_support import (
    BETA_CONFIG,
    PLAN,
    Source,
    assert_rerun_changes_nothing,
    build_world,
    next_migration,
    run_batch,
)
from tests.waiting_support import eventually

# ---------------------------------------------------------------------------------------------
# Planning
# ---------------------------------------------------------------------------------------------


def many_repositories(count: int) -> dict[str, Any]:
    return {
        "plugins": [
            {
                "type": "iso",
                "repositories": [
                    {"name": f"r{i:03d}", "repository_versions": [{"pulp2_repository_id": "x"}]}
                    for i in range(count)
                ],
            }
        ]
    }


async def test_repositories_are_planned_twenty_per_batch(
    pool: asyncpg.Pool, new_migration: NewMigration
) -> None:
    migration = await new_migration(many_repositories(45))
    async with pool.acquire() as connection:
        batches = await plan_repository_batches(connection, migration)
    assert [(b.key, b.units) for b in batches] == [("repos-0", 20), ("repos-1", 20), ("repos-2", 5)]
    assert batches[0].args == {"repositories": [f"r{i:03d}" for i in range(20)]}
    assert batches[2].args == {"repositories": [f"r{i:03d}" for i in range(40, 45)]}
    json.dumps([dict(b.args) for b in batches])  # args travel as JSON


async def test_an_empty_plan_has_no_batches(
    pool: asyncpg.Pool, new_migration: NewMigration
) -> None:
    migration = await new_migration({"plugins": [{"type": "iso", "repositories": []}]})
    async with pool.acquire() as connection:
        assert await plan_repository_batches(connection, migration) == []


def test_the_step_is_wired() -> None:
    assert STEP.code == "create_repositories"
    assert STEP.actor.name == "pulp2to3.create_repositories"
    assert STEP.plan_batches is plan_repository_batches


# ---------------------------------------------------------------------------------------------
# What a batch builds
# ---------------------------------------------------------------------------------------------


async def test_repositories_remotes_and_remote_artifacts_are_built(
    pool: asyncpg.Pool, new_migration: NewMigration
) -> None:
    world = await build_world(pool)
    migration = await new_migration(PLAN)
    result = await run_batch(pool, STEP, migration, {"repositories": ["alpha", "beta", "gamma"]})
    assert result == BatchResult(done=3, created=ANY)
    async with pool.acquire() as connection:
        repos = {
            r["name"]: r
            for r in await connection.fetch("SELECT id, name, pulp_type, remote_id FROM repository")
        }
        assert set(repos) == {"alpha", "beta", "gamma"}
        assert {r["pulp_type"] for r in repos.values()} == {"file.file"}
        versions = await connection.fetch(
            "SELECT repository_id, number FROM repository_version ORDER BY repository_id"
        )
        assert sorted((v["repository_id"], v["number"]) for v in versions) == sorted(
            (r["id"], 0) for r in repos.values()
        )
        assert await connection.fetchval("SELECT count(*) FROM repository_content") == 0
        remotes = {
            r["name"]: r
            for r in await connection.fetch(
                "SELECT id, name, pulp_type, url, policy, options FROM remote"
            )
        }
        assert {name: (r["url"], r["policy"]) for name, r in remotes.items()} == {
            "alpha": ("https://a.example/alpha/", "immediate"),
            "beta": ("https://b.example/beta/", "on_demand"),
            "gamma": ("https://g.example/", "on_demand"),
        }
        assert remotes["alpha"]["options"] == {
            "ca_cert": "CA",
            "download_concurrency": 4,
            "proxy_password": "pp",
            "proxy_url": "http://proxy.example:3128",
            "proxy_username": "pu",
            "tls_validation": True,
        }
        assert remotes["beta"]["options"] == {}
        assert {r["pulp_type"] for r in remotes.values()} == {"file.file"}
        assert {name: r["remote_id"] for name, r in repos.items()} == {
            name: remotes[name]["id"] for name in repos
        }
        remote_artifacts = await connection.fetch(
            "SELECT content_artifact_id, remote_id, url, sha256, size FROM remote_artifact"
        )
    units = world.units
    c, d = units["u-c"], units["u-d"]
    assert sorted(tuple(r.values()) for r in remote_artifacts) == sorted(
        [
            (
                c.content_artifact_id,
                remotes["beta"]["id"],
                "https://b.example/beta/c.iso",
                c.sha256,
                c.size,
            ),
            (
                d.content_artifact_id,
                remotes["beta"]["id"],
                "https://b.example/beta/d.iso",
                d.sha256,
                d.size,
            ),
            # An md5 catalog checksum is no sha256.
            (
                d.content_artifact_id,
                remotes["gamma"]["id"],
                "https://g.example/d.iso",
                None,
                d.size,
            ),
        ]
    )
    async with pool.acquire() as connection:
        mapped = {
            r["pulp2_repo_id"]: (r["pulp3_repository_id"], r["is_migrated"])
            for r in await connection.fetch(
                "SELECT pulp2_repo_id, pulp3_repository_id, is_migrated FROM pulp2_repository"
            )
        }
        importers = {
            r["pulp2_repo_id"]: (r["pulp3_remote_id"], r["is_migrated"])
            for r in await connection.fetch(
                "SELECT pulp2_repo_id, pulp3_remote_id, is_migrated FROM pulp2_importer"
            )
        }
    assert mapped == {
        "alpha": (repos["alpha"]["id"], True),
        "alpha-next": (repos["alpha"]["id"], True),
        "beta": (repos["beta"]["id"], True),
        "gamma": (repos["gamma"]["id"], True),
    }
    assert importers == {name: (remotes[name]["id"], True) for name in ("alpha", "beta", "gamma")}


async def test_a_repository_without_importer_gets_no_remote(
    pool: asyncpg.Pool, new_migration: NewMigration
) -> None:
    await build_world(pool)
    plan = {
        "plugins": [
            {
                "type": "iso",
                "repositories": [
                    {"name": "plain", "repository_versions": [{"pulp2_repository_id": "alpha"}]}
                ],
            }
        ]
    }
    migration = await new_migration(plan)
    assert await run_batch(pool, STEP, migration, {"repositories": ["plain"]}) == BatchResult(
        done=1, created=ANY
    )
    async with pool.acquire() as connection:
        assert await connection.fetchval("SELECT remote_id FROM repository") is None
        assert await connection.fetchval("SELECT count(*) FROM remote") == 0
        assert await connection.fetchval("SELECT count(*) FROM repository_version") == 1


async def test_importer_problems_are_per_repository_failures(
    pool: asyncpg.Pool, new_migration: NewMigration
) -> None:
    async with pool.acquire() as connection:
        source = Source(connection)
        for repo_id in ("ok", "weird", "nofeed", "noimporter"):
            await source.repo(repo_id)
        await source.importer("ok", {"feed": "https://ok.example/"})
        await source.importer("weird", {"feed": "https://w.example/", "download_policy": "lazy"})
        await source.importer("nofeed", {"download_policy": "on_demand"})
    names = ["ok", "weird", "nofeed", "noimporter"]
    plan = {
        "plugins": [
            {
                "type": "iso",
                "repositories": [
                    {
                        "name": name,
                        "pulp2_importer_repository_id": name,
                        "repository_versions": [{"pulp2_repository_id": name}],
                    }
                    for name in names
                ],
            }
        ]
    }
    migration = await new_migration(plan)
    result = await run_batch(pool, STEP, migration, {"repositories": names})
    assert result.done == 2
    assert sorted(result.failures) == [
        ("noimporter", "Pulp 2 repository 'noimporter' has no importer"),
        (
            "weird",
            "importer of Pulp 2 repository 'weird': download_policy 'lazy' is not one of "
            "background, immediate, on_demand",
        ),
    ]
    async with pool.acquire() as connection:
        # Every repository exists (its content still migrates); only the good feed has a remote.
        assert await connection.fetchval("SELECT count(*) FROM repository") == 4
        assert [r["name"] for r in await connection.fetch("SELECT name FROM remote")] == ["ok"]
        assert await connection.fetchval(
            "SELECT is_migrated AND pulp3_remote_id IS NULL FROM pulp2_importer"
            " WHERE pulp2_repo_id = 'nofeed'"
        )
        assert not await connection.fetchval(
            "SELECT is_migrated FROM pulp2_importer WHERE pulp2_repo_id = 'weird'"
        )


async def test_the_newest_catalog_revision_gives_the_url(
    pool: asyncpg.Pool, new_migration: NewMigration
) -> None:
    async with pool.acquire() as connection:
        source = Source(connection)
        await source.repo("beta")
        await source.importer("beta", BETA_CONFIG)
        c = await source.unit("u-c", "c.iso", downloaded=False)
        await source.lazy(c, "imp-beta", "https://b.example/old/c.iso", revision=1)
        await source.lazy(c, "imp-beta", "https://b.example/new/c.iso", revision=2)
    migration = await new_migration(PLAN)
    await run_batch(pool, STEP, migration, {"repositories": ["beta"]})
    async with pool.acquire() as connection:
        assert await connection.fetchval("SELECT url FROM remote_artifact") == (
            "https://b.example/new/c.iso"
        )


# ---------------------------------------------------------------------------------------------
# Idempotency and concurrency
# ---------------------------------------------------------------------------------------------


async def test_running_a_batch_twice_changes_nothing(
    pool: asyncpg.Pool, new_migration: NewMigration
) -> None:
    await build_world(pool)
    migration = await new_migration(PLAN)
    await assert_rerun_changes_nothing(
        pool, STEP, migration, {"repositories": ["alpha", "beta", "gamma"]}
    )


async def test_a_rerun_follows_a_changed_importer_and_catalog(
    pool: asyncpg.Pool, new_migration: NewMigration
) -> None:
    """A later migration, after a premigrate that found the importer and its catalog changed."""
    world = await build_world(pool)
    first = await new_migration(PLAN)
    await run_batch(pool, STEP, first, {"repositories": ["beta"]})
    async with pool.acquire() as connection:
        await connection.execute(
            'UPDATE pulp2_importer SET config = config || \'{"feed": "https://b2.example/"}\''
            " WHERE pulp2_repo_id = 'beta'"
        )
        await connection.execute(
            "DELETE FROM pulp2_lazy_catalog"
            " WHERE pulp2_unit_id = 'u-c' AND importer_id = 'imp-beta'"
        )
    later = await next_migration(pool, new_migration, first, PLAN)
    await run_batch(pool, STEP, later, {"repositories": ["beta"]})
    async with pool.acquire() as connection:
        assert await connection.fetchval("SELECT url FROM remote WHERE name = 'beta'") == (
            "https://b2.example/"
        )
        rows = await connection.fetch("SELECT content_artifact_id FROM remote_artifact")
    assert [r["content_artifact_id"] for r in rows] == [world.units["u-d"].content_artifact_id]


async def test_concurrent_batches_sharing_pulp2_repositories(
    pool: asyncpg.Pool, new_migration: NewMigration
) -> None:
    """Two plan repositories made from the same Pulp 2 repository and importer, in two batches
    at once: both complete, each with its own remote and remote artifacts."""
    await build_world(pool)
    names = [f"copy{i}" for i in range(6)]
    plan = {
        "plugins": [
            {
                "type": "iso",
                "repositories": [
                    {
                        "name": name,
                        "pulp2_importer_repository_id": "beta",
                        "repository_versions": [
                            {"pulp2_repository_id": "beta"},
                            {"pulp2_repository_id": "gamma"},
                        ],
                    }
                    for name in names
                ],
            }
        ]
    }
    migration = await new_migration(plan)
    results = await asyncio.gather(
        run_batch(pool, STEP, migration, {"repositories": names[:3]}),
        run_batch(pool, STEP, migration, {"repositories": names[3:][::-1]}),
    )
    assert results == [BatchResult(done=3, created=ANY), BatchResult(done=3, created=ANY)]
    async with pool.acquire() as connection:
        assert await connection.fetchval("SELECT count(*) FROM repository") == 6
        assert await connection.fetchval("SELECT count(*) FROM remote") == 6
        per_remote = await connection.fetch(
            "SELECT remote_id, count(*) FROM remote_artifact GROUP BY remote_id"
        )
        mapped = await connection.fetchval(
            "SELECT r.name FROM pulp2_repository p"
            " JOIN repository r ON r.id = p.pulp3_repository_id WHERE p.pulp2_repo_id = 'gamma'"
        )
    assert len(per_remote) == 6
    assert {r["count"] for r in per_remote} == {2}
    assert mapped in names


async def test_a_remote_another_transaction_inserts_meanwhile_is_not_created_here(
    pool: asyncpg.Pool, new_migration: NewMigration
) -> None:
    """Two copies of a batch upsert the same remotes: the second waits for the first's insert
    and, once that commits, finds them: only the first created them, and only the first may
    insert their remote artifacts without looking for conflicts (a read before the insert
    would have missed them in both)."""
    await build_world(pool)
    migration = await new_migration(PLAN)
    remote = store.RemoteRow("beta", "file.file", "https://b.example/", "on_demand", {})
    async with pool.acquire() as connection, connection.transaction():
        await store.prepare_remote_artifacts(
            connection, "create_repositories", migration.id, ["beta"]
        )
    inserted = asyncio.Event()
    commit = asyncio.Event()

    async def copy(first: bool) -> tuple[frozenset[str], int]:
        async with pool.acquire() as connection, connection.transaction():
            ids, created = await store.upsert_remotes(connection, [remote])
            if first:
                inserted.set()
                await commit.wait()
            offered = await store.sync_remote_artifacts(
                connection,
                [store.RemoteSource(ids["beta"], "imp-beta")],
                created={ids[name] for name in created},
            )
            return created, offered

    first = asyncio.create_task(copy(first=True))
    await inserted.wait()
    second = asyncio.create_task(copy(first=False))
    async with pool.acquire() as observer:

        async def second_waits() -> bool:
            return await backends_waiting_on_a_lock(observer) == 1

        await eventually(second_waits, 10, "the second copy to wait for the first's insert")
        commit.set()
        assert await first == (frozenset({"beta"}), 2)
        assert await second == (frozenset(), 0)  # found them, all already right
        assert await observer.fetchval("SELECT count(*) FROM remote_artifact") == 2
