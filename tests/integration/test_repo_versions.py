"""The create_repo_versions step on a real PostgreSQL, after create_repositories."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from typing import Any

import asyncpg

from pulp2to3.actors import repositories
from pulp2to3.actors.repo_versions import STEP, plan_version_batches
from pulp2to3.actors.steps import BatchResult, Migration
from pulp2to3.plan import parse_plan
from tests.database_support import NewMigration
from tests.repository_steps_support import (
    PLAN,
    Source,
    assert_rerun_changes_nothing,
    build_world,
    next_migration,
    run_batch,
    run_step,
)


def plan_of(repositories: dict[str, list[str]]) -> dict[str, Any]:
    """A plan: repository name -> the Pulp 2 repositories of its versions, in order."""
    return {
        "plugins": [
            {
                "type": "iso",
                "repositories": [
                    {
                        "name": name,
                        "repository_versions": [{"pulp2_repository_id": r} for r in versions],
                    }
                    for name, versions in repositories.items()
                ],
            }
        ]
    }


async def memberships(pool: asyncpg.Pool, repository: str) -> set[tuple[str, int, int | None]]:
    """(relative path, version_added, version_removed) of a repository's membership rows."""
    async with pool.acquire() as connection:
        rows = await connection.fetch(
            "SELECT f.relative_path, rc.version_added, rc.version_removed"
            "  FROM repository_content rc"
            "  JOIN repository r ON r.id = rc.repository_id"
            "  JOIN file_content f ON f.content_id = rc.content_id"
            " WHERE r.name = $1",
            repository,
        )
    return {(r["relative_path"], r["version_added"], r["version_removed"]) for r in rows}


async def content_of(pool: asyncpg.Pool, repository: str, number: int) -> set[str]:
    """The relative paths in version ``number``, read the way Pulp 3 reads a version."""
    async with pool.acquire() as connection:
        rows = await connection.fetch(
            "SELECT f.relative_path FROM repository_content rc"
            "  JOIN repository r ON r.id = rc.repository_id"
            "  JOIN file_content f ON f.content_id = rc.content_id"
            " WHERE r.name = $1 AND rc.version_added <= $2"
            "   AND (rc.version_removed IS NULL OR rc.version_removed > $2)",
            repository,
            number,
        )
    return {r["relative_path"] for r in rows}


async def version_numbers(pool: asyncpg.Pool) -> dict[str, list[int]]:
    async with pool.acquire() as connection:
        rows = await connection.fetch(
            "SELECT r.name, v.number FROM repository_version v"
            " JOIN repository r ON r.id = v.repository_id ORDER BY r.name, v.number"
        )
    numbers: dict[str, list[int]] = {}
    for row in rows:
        numbers.setdefault(row["name"], []).append(row["number"])
    return numbers


async def prepare(
    pool: asyncpg.Pool, new_migration: NewMigration, plan: dict[str, Any]
) -> Migration:
    await build_world(pool)
    migration = await new_migration(plan)
    await run_step(pool, repositories.STEP, migration)
    return migration


async def test_versions_are_planned_by_whole_repositories(
    pool: asyncpg.Pool, new_migration: NewMigration
) -> None:
    plan = plan_of({f"r{i:02d}": ["x"] * (1 + i % 3) for i in range(25)})
    migration = await new_migration(plan)
    async with pool.acquire() as connection:
        batches = await plan_version_batches(connection, migration)
    assert [b.key for b in batches] == ["versions-0", "versions-1"]
    assert batches[0].args == {"repositories": [f"r{i:02d}" for i in range(20)]}
    assert [b.units for b in batches] == [
        sum(1 + i % 3 for i in range(20)),
        sum(1 + i % 3 for i in range(20, 25)),
    ]
    assert STEP.code == "create_repo_versions"
    assert STEP.actor.name == "pulp2to3.create_repo_versions"


async def test_each_plan_version_holds_its_pulp2_repository(
    pool: asyncpg.Pool, new_migration: NewMigration
) -> None:
    run = await prepare(pool, new_migration, PLAN)
    result = await run_batch(pool, STEP, run, {"repositories": ["alpha", "beta", "gamma"]})
    assert result == BatchResult(done=4)
    assert await version_numbers(pool) == {"alpha": [0, 1, 2], "beta": [0, 1], "gamma": [0, 1]}
    # The unit that failed to migrate is left out; a.iso from two Pulp 2 units is one content.
    assert await content_of(pool, "alpha", 0) == set()
    assert await content_of(pool, "alpha", 1) == {"a.iso", "b.iso"}
    assert await content_of(pool, "alpha", 2) == {"b.iso", "e.iso"}
    assert await content_of(pool, "beta", 1) == {"a.iso", "c.iso", "d.iso", "Z.iso"}
    assert await content_of(pool, "gamma", 1) == {"d.iso"}
    assert await memberships(pool, "alpha") == {
        ("a.iso", 1, 2),
        ("b.iso", 1, None),
        ("e.iso", 2, None),
    }
    assert await memberships(pool, "beta") == {
        ("a.iso", 1, None),
        ("c.iso", 1, None),
        ("d.iso", 1, None),
        ("Z.iso", 1, None),
    }


async def test_units_with_one_relative_path_leave_one_content_the_last_added(
    pool: asyncpg.Pool, new_migration: NewMigration
) -> None:
    # Pulp 2 kept the old a.iso when a sync brought a new one (remove_missing off); Pulp 3
    # keeps one file per relative path in a version, as its sync would have.
    run = await prepare(pool, new_migration, plan_of({"alpha": ["alpha"]}))
    async with pool.acquire() as connection:
        source = Source(connection)
        newer = await source.unit("u-a-new", "a.iso", b"the new a.iso\n")
        await source.members("alpha", newer)
        await connection.execute(
            "UPDATE pulp2_repo_content SET created = now() - make_interval(days => 10)"
            " WHERE pulp2_repo_id = 'alpha'"
        )
        await connection.execute(
            "UPDATE pulp2_repo_content SET created = now() WHERE pulp2_unit_id = 'u-a-new'"
        )
    # Run twice: the second finds the version up to date, though the Pulp 2 repository has
    # three units.
    alpha = {"repositories": ["alpha"]}
    assert await assert_rerun_changes_nothing(pool, STEP, run, alpha) == BatchResult(done=1)
    async with pool.acquire() as connection:
        held = await connection.fetch(
            "SELECT f.relative_path, f.digest FROM repository_content rc"
            "  JOIN file_content f ON f.content_id = rc.content_id"
            "  JOIN repository r ON r.id = rc.repository_id WHERE r.name = 'alpha'"
        )
    assert sorted((r["relative_path"], r["digest"]) for r in held) == [
        ("a.iso", newer.sha256),
        ("b.iso", hashlib.sha256(b"content of b.iso\n").hexdigest()),
    ]


async def test_content_that_comes_back_gets_a_new_membership_row(
    pool: asyncpg.Pool, new_migration: NewMigration
) -> None:
    plan = plan_of({"alpha": ["alpha", "alpha-next", "alpha", "gamma", "gamma"]})
    run = await prepare(pool, new_migration, plan)
    assert await run_batch(pool, STEP, run, {"repositories": ["alpha"]}) == BatchResult(done=5)
    assert await memberships(pool, "alpha") == {
        ("a.iso", 1, 2),
        ("b.iso", 1, 4),
        ("e.iso", 2, 3),
        ("a.iso", 3, 4),
        ("d.iso", 4, None),
    }
    expected = [
        set(),
        {"a.iso", "b.iso"},
        {"b.iso", "e.iso"},
        {"a.iso", "b.iso"},
        {"d.iso"},
        {"d.iso"},
    ]
    assert [await content_of(pool, "alpha", n) for n in range(6)] == expected


async def test_an_empty_pulp2_repository_makes_an_empty_version(
    pool: asyncpg.Pool, new_migration: NewMigration
) -> None:
    async with pool.acquire() as connection:
        await Source(connection).repo("empty")
    run = await prepare(pool, new_migration, plan_of({"alpha": ["alpha", "empty"]}))
    assert await run_batch(pool, STEP, run, {"repositories": ["alpha"]}) == BatchResult(done=2)
    assert await content_of(pool, "alpha", 2) == set()
    assert await memberships(pool, "alpha") == {("a.iso", 1, 2), ("b.iso", 1, 2)}


async def test_a_missing_pulp2_repository_fails_its_version_and_the_later_ones(
    pool: asyncpg.Pool, new_migration: NewMigration
) -> None:
    plan = plan_of({"alpha": ["alpha", "nowhere", "alpha-next"], "gamma": ["gamma"]})
    run = await prepare(pool, new_migration, plan)
    result = await run_batch(pool, STEP, run, {"repositories": ["alpha", "gamma"]})
    assert result.done == 2
    assert result.failures == (
        ("alpha version 2", "Pulp 2 repository 'nowhere' is not in the dump"),
        ("alpha version 3", "version 2 before it could not be created"),
    )
    assert await version_numbers(pool) == {"alpha": [0, 1], "gamma": [0, 1]}


async def test_running_a_batch_twice_changes_nothing(
    pool: asyncpg.Pool, new_migration: NewMigration
) -> None:
    run = await prepare(pool, new_migration, PLAN)
    await assert_rerun_changes_nothing(
        pool, STEP, run, {"repositories": ["alpha", "beta", "gamma"]}
    )


async def origins(pool: asyncpg.Pool, repository: str) -> dict[int, tuple[str, int]]:
    """Plan version position -> (its Pulp 2 repository, the number of the version holding it)."""
    async with pool.acquire() as connection:
        rows = await connection.fetch(
            "SELECT o.position, o.pulp2_repo_id, v.number FROM repository_version_origin o"
            "  JOIN repository r ON r.id = o.repository_id"
            "  JOIN repository_version v ON v.id = o.version_id"
            " WHERE r.name = $1",
            repository,
        )
    return {r["position"]: (r["pulp2_repo_id"], r["number"]) for r in rows}


async def test_a_changed_pulp2_repository_gets_a_new_version_and_an_unchanged_one_none(
    pool: asyncpg.Pool, new_migration: NewMigration
) -> None:
    run = await prepare(pool, new_migration, plan_of({"alpha": ["alpha", "alpha-next"]}))
    alpha = {"repositories": ["alpha"]}
    assert await assert_rerun_changes_nothing(pool, STEP, run, alpha) == BatchResult(done=2)
    assert await origins(pool, "alpha") == {1: ("alpha", 1), 2: ("alpha-next", 2)}

    # Pulp 2 synced alpha again: it gained late.iso and lost a.iso. alpha-next is unchanged.
    # The next migration's premigrate and content step stage that.
    async with pool.acquire() as connection:
        source = Source(connection)
        await source.members("alpha", await source.unit("u-late", "late.iso"))
        await connection.execute(
            "DELETE FROM pulp2_repo_content WHERE pulp2_repo_id = 'alpha' AND pulp2_unit_id IN"
            " (SELECT pulp2_id FROM pulp2_content WHERE fields->>'name' = 'a.iso')"
        )
    later = await next_migration(
        pool, new_migration, run, plan_of({"alpha": ["alpha", "alpha-next"]})
    )
    assert await assert_rerun_changes_nothing(pool, STEP, later, alpha) == BatchResult(done=2)
    assert await version_numbers(pool) == {"alpha": [0, 1, 2, 3]}
    assert await content_of(pool, "alpha", 1) == {"a.iso", "b.iso"}
    assert await content_of(pool, "alpha", 2) == {"b.iso", "e.iso"}
    assert await content_of(pool, "alpha", 3) == {"b.iso", "late.iso"}
    assert await origins(pool, "alpha") == {1: ("alpha", 3), 2: ("alpha-next", 2)}


async def test_a_plan_version_moved_to_another_pulp2_repository_gets_a_new_version(
    pool: asyncpg.Pool, new_migration: NewMigration
) -> None:
    run = await prepare(pool, new_migration, plan_of({"alpha": ["alpha"]}))
    await run_batch(pool, STEP, run, {"repositories": ["alpha"]})
    # A longer plan adds only the new version; a plan naming another Pulp 2 repository for
    # version 1 gets a version holding that repository, even with the same content.
    longer = dataclasses.replace(run, plan=parse_plan(plan_of({"alpha": ["alpha", "alpha-next"]})))
    assert await run_batch(pool, STEP, longer, {"repositories": ["alpha"]}) == BatchResult(done=2)
    assert await origins(pool, "alpha") == {1: ("alpha", 1), 2: ("alpha-next", 2)}
    moved = dataclasses.replace(run, plan=parse_plan(plan_of({"alpha": ["beta", "alpha-next"]})))
    assert await run_batch(pool, STEP, moved, {"repositories": ["alpha"]}) == BatchResult(done=2)
    assert await origins(pool, "alpha") == {1: ("beta", 3), 2: ("alpha-next", 2)}
    assert await content_of(pool, "alpha", 3) == {"a.iso", "c.iso", "d.iso", "Z.iso"}


async def test_concurrent_batches_of_repositories_sharing_content(
    pool: asyncpg.Pool, new_migration: NewMigration
) -> None:
    plan = plan_of(
        {
            "one": ["alpha", "beta"],
            "two": ["beta", "alpha"],
            "three": ["beta", "gamma", "beta"],
            "four": ["gamma", "alpha-next"],
        }
    )
    run = await prepare(pool, new_migration, plan)
    results = await asyncio.gather(
        run_batch(pool, STEP, run, {"repositories": ["one", "three"]}),
        run_batch(pool, STEP, run, {"repositories": ["two", "four"]}),
    )
    assert results == [BatchResult(done=5), BatchResult(done=4)]
    beta = {"a.iso", "c.iso", "d.iso", "Z.iso"}
    assert await content_of(pool, "one", 2) == beta
    assert await content_of(pool, "two", 2) == {"a.iso", "b.iso"}
    assert await content_of(pool, "three", 2) == {"d.iso"}
    assert await content_of(pool, "three", 3) == beta
    assert await content_of(pool, "four", 2) == {"b.iso", "e.iso"}
    three = await memberships(pool, "three")
    assert {row for row in three if row[0] == "d.iso"} == {("d.iso", 1, None)}  # it stayed
    assert {row for row in three if row[0] == "c.iso"} == {("c.iso", 1, 2), ("c.iso", 3, None)}
