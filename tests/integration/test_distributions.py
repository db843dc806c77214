"""The create_distributions step on a real PostgreSQL, after the other repository steps."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import asyncpg
import pytest

from pulp2to3.actors import publications, repo_versions, repositories
from pulp2to3.actors.distributions import (
    STEP,
    create_distributions,
    distribution_name,
    overlaps,
    plan_distribution_batches,
)
from pulp2to3.actors.steps import BatchResult, Migration
from tests.database_support import NewMigration, backends_waiting_on_a_lock
from tests.repository_steps_support import (
    PLAN,
    Source,
    assert_rerun_changes_nothing,
    build_world,
    run_batch,
    run_step,
    settings_with_media,
)
from tests.waiting_support import eventually

ALPHA = ["alpha", 2, "alpha", "iso_distributor"]
BETA = ["beta", 1, "beta", "iso_distributor"]
GAMMA = ["gamma", 1, "gamma", "iso_distributor"]
GAMMA_2 = ["gamma", 1, "gamma", "iso_distributor_2"]
DELTA = ["delta", 1, "delta", "iso_distributor"]
ALL = {"distributors": [ALPHA, BETA, GAMMA, GAMMA_2]}


def with_delta(plan: dict[str, Any]) -> dict[str, Any]:
    """The standard plan plus ``delta``, whose distributor wants alpha's base path."""
    repositories_ = [
        *plan["plugins"][0]["repositories"],
        {
            "name": "delta",
            "repository_versions": [
                {"pulp2_repository_id": "delta", "pulp2_distributor_repository_ids": ["delta"]}
            ],
        },
    ]
    return {"plugins": [{"type": "iso", "repositories": repositories_}]}


async def prepare(
    pool: asyncpg.Pool, new_migration: NewMigration, media: Path, plan: dict[str, Any] = PLAN
) -> Migration:
    await build_world(pool)
    async with pool.acquire() as connection:
        source = Source(connection)
        await source.repo("delta")
        await source.distributor("delta", "iso_distributor", {"relative_url": "pub//alpha/"})
        await source.repo("bad")
        await source.distributor("bad", "iso_distributor", {"relative_url": "/pub/../etc"})
    migration = await new_migration(plan, settings_with_media(media))
    for step in (repositories.STEP, repo_versions.STEP, publications.STEP):
        await run_step(pool, step, migration)
    return migration


async def prepare_serving(
    pool: asyncpg.Pool, new_migration: NewMigration, media: Path, served: dict[str, str]
) -> Migration:
    """``prepare``, with distributions of other origins served already (name -> base path)."""
    run = await prepare(pool, new_migration, media)
    async with pool.acquire() as connection:
        await connection.executemany(
            "INSERT INTO distribution (pulp_type, name, base_path) VALUES ('file.file', $1, $2)",
            served.items(),
        )
    return run


async def prepare_delta_at_pub(
    pool: asyncpg.Pool, new_migration: NewMigration, media: Path
) -> Migration:
    """``prepare`` with ``delta``, whose distributor wants ``pub``: a folder of alpha's."""
    run = await prepare(pool, new_migration, media, with_delta(PLAN))
    async with pool.acquire() as connection:
        await connection.execute(
            "UPDATE pulp2_distributor SET config = $1::jsonb WHERE pulp2_repo_id = 'delta'",
            {"relative_url": "pub"},
        )
    return run


async def distributions(pool: asyncpg.Pool) -> dict[str, tuple[str, str, int]]:
    """name -> (base path, repository, version) of the publication it serves."""
    async with pool.acquire() as connection:
        rows = await connection.fetch(
            "SELECT d.name, d.base_path, d.pulp_type, r.name AS repository, v.number"
            "  FROM distribution d"
            "  JOIN publication p ON p.id = d.publication_id"
            "  JOIN repository_version v ON v.id = p.repository_version_id"
            "  JOIN repository r ON r.id = v.repository_id"
        )
    assert {row["pulp_type"] for row in rows} <= {"file.file"}
    return {row["name"]: (row["base_path"], row["repository"], row["number"]) for row in rows}


async def test_every_distributor_of_a_published_version_is_planned(
    pool: asyncpg.Pool, new_migration: NewMigration, tmp_path: Path
) -> None:
    run = await prepare(pool, new_migration, tmp_path / "media")
    async with pool.acquire() as connection:
        batches = await plan_distribution_batches(connection, run)
    # The export distributor is no ISO distributor: it is not planned.
    assert [(b.key, b.units, b.args) for b in batches] == [("distributions-0", 4, ALL)]
    assert STEP.code == "create_distributions"
    assert STEP.actor.name == "pulp2to3.create_distributions"


async def test_a_distributor_named_by_two_versions_serves_the_last(
    pool: asyncpg.Pool, new_migration: NewMigration
) -> None:
    await build_world(pool)
    versions = [
        {"pulp2_repository_id": "alpha", "pulp2_distributor_repository_ids": ["alpha"]},
        {"pulp2_repository_id": "alpha-next", "pulp2_distributor_repository_ids": ["alpha"]},
    ]
    plan = {
        "plugins": [
            {"type": "iso", "repositories": [{"name": "alpha", "repository_versions": versions}]}
        ]
    }
    migration = await new_migration(plan)
    async with pool.acquire() as connection:
        batches = await plan_distribution_batches(connection, migration)
    assert [b.args for b in batches] == [{"distributors": [ALPHA]}]


async def test_distributions_serve_the_publications_at_normalized_base_paths(
    pool: asyncpg.Pool, new_migration: NewMigration, tmp_path: Path
) -> None:
    run = await prepare(pool, new_migration, tmp_path / "media")
    assert await run_batch(pool, STEP, run, ALL) == BatchResult(done=4, created=ANY)
    assert await distributions(pool) == {
        "alpha-iso_distributor": ("pub/alpha", "alpha", 2),  # "/pub/alpha/"
        "beta-iso_distributor": ("beta", "beta", 1),  # no relative_url: the repo id
        "gamma-iso_distributor": ("isos/gamma", "gamma", 1),  # "isos//gamma/"
        "gamma-iso_distributor_2": ("gamma", "gamma", 1),  # "/": the repo id
    }
    async with pool.acquire() as connection:
        mapped = await connection.fetch(
            "SELECT p.pulp2_repo_id, p.distributor_id, p.is_migrated, d.name,"
            "       p.pulp3_publication_id = d.publication_id AS same_publication"
            "  FROM pulp2_distributor p LEFT JOIN distribution d ON d.id = p.pulp3_distribution_id"
        )
    assert {
        (r["pulp2_repo_id"], r["distributor_id"]): (r["is_migrated"], r["name"])
        for r in mapped
        if r["pulp2_repo_id"] in ("alpha", "beta", "gamma")
    } == {
        ("alpha", "iso_distributor"): (True, "alpha-iso_distributor"),
        ("beta", "iso_distributor"): (True, "beta-iso_distributor"),
        ("beta", "export_distributor"): (False, None),
        ("gamma", "iso_distributor"): (True, "gamma-iso_distributor"),
        ("gamma", "iso_distributor_2"): (True, "gamma-iso_distributor_2"),
    }
    assert all(r["same_publication"] for r in mapped if r["name"] is not None)


async def test_distributors_of_other_pulp2_repositories_are_named_after_them(
    pool: asyncpg.Pool, new_migration: NewMigration, tmp_path: Path
) -> None:
    plan = {
        "plugins": [
            {
                "type": "iso",
                "repositories": [
                    {
                        "name": "combo",
                        "repository_versions": [
                            {
                                "pulp2_repository_id": "beta",
                                "pulp2_distributor_repository_ids": ["beta", "gamma"],
                            }
                        ],
                    }
                ],
            }
        ]
    }
    run = await prepare(pool, new_migration, tmp_path / "media", plan)
    results = await run_step(pool, STEP, run)
    assert results == [BatchResult(done=3, created=ANY)]
    assert await distributions(pool) == {
        "combo-beta-iso_distributor": ("beta", "combo", 1),
        "combo-gamma-iso_distributor": ("isos/gamma", "combo", 1),
        "combo-gamma-iso_distributor_2": ("gamma", "combo", 1),
    }


async def test_a_base_path_served_already_is_a_named_failure(
    pool: asyncpg.Pool, new_migration: NewMigration, tmp_path: Path
) -> None:
    run = await prepare_serving(pool, new_migration, tmp_path / "media", {"legacy": "beta"})
    # Run twice: the same outcome, nothing written the second time.
    assert await assert_rerun_changes_nothing(pool, STEP, run, ALL) == BatchResult(
        created=ANY,
        done=3,
        failures=(
            ("beta/iso_distributor", "base path 'beta' is already served by distribution 'legacy'"),
        ),
    )
    names = await distributions(pool)
    assert set(names) == {
        "alpha-iso_distributor",
        "gamma-iso_distributor",
        "gamma-iso_distributor_2",
    }
    async with pool.acquire() as connection:
        assert not await connection.fetchval(
            "SELECT is_migrated FROM pulp2_distributor"
            " WHERE pulp2_repo_id = 'beta' AND distributor_id = 'iso_distributor'"
        )


async def test_two_distributors_of_one_base_path_in_a_batch(
    pool: asyncpg.Pool, new_migration: NewMigration, tmp_path: Path
) -> None:
    run = await prepare(pool, new_migration, tmp_path / "media", with_delta(PLAN))
    result = await run_batch(pool, STEP, run, {"distributors": [DELTA, *ALL["distributors"]]})
    assert result == BatchResult(
        created=ANY,
        done=4,
        failures=(
            (
                "delta/iso_distributor",
                "base path 'pub/alpha' is already served by distribution 'alpha-iso_distributor'",
            ),
        ),
    )
    assert (await distributions(pool))["alpha-iso_distributor"] == ("pub/alpha", "alpha", 2)


async def test_a_base_path_overlapping_another_is_a_named_failure(
    pool: asyncpg.Pool, new_migration: NewMigration, tmp_path: Path
) -> None:
    # Served already: a folder of alpha's base path, and a base path inside gamma's.
    served = {"outer": "pub", "inner": "gamma/old"}
    run = await prepare_serving(pool, new_migration, tmp_path / "media", served)
    assert await assert_rerun_changes_nothing(pool, STEP, run, ALL) == BatchResult(
        created=ANY,
        done=2,
        failures=(
            (
                "gamma/iso_distributor_2",
                "base path 'gamma' overlaps base path 'gamma/old' of distribution 'inner'",
            ),
            (
                "alpha/iso_distributor",
                "base path 'pub/alpha' overlaps base path 'pub' of distribution 'outer'",
            ),
        ),
    )
    assert set(await distributions(pool)) == {"beta-iso_distributor", "gamma-iso_distributor"}


async def test_overlapping_base_paths_in_a_batch_keep_the_shorter(
    pool: asyncpg.Pool, new_migration: NewMigration, tmp_path: Path
) -> None:
    run = await prepare_delta_at_pub(pool, new_migration, tmp_path / "media")
    result = await run_batch(pool, STEP, run, {"distributors": [ALPHA, DELTA]})
    assert result == BatchResult(
        created=ANY,
        done=1,
        failures=(
            (
                "alpha/iso_distributor",
                "base path 'pub/alpha' overlaps base path 'pub' of distribution"
                " 'delta-iso_distributor'",
            ),
        ),
    )
    assert await distributions(pool) == {"delta-iso_distributor": ("pub", "delta", 1)}


@pytest.mark.parametrize(("path", "other", "expected"), [
    ("a", "a/b", True), ("a/b", "a", True), ("a/b/c", "a", True),
    ("a", "a", False), ("a", "ab", False), ("ab/c", "a", False), ("a/b", "a/c", False),
])  # fmt: skip
def test_overlaps_means_a_folder_of_the_other(path: str, other: str, expected: bool) -> None:
    assert overlaps(path, other) is expected


async def test_concurrent_batches_never_both_take_overlapping_base_paths(
    pool: asyncpg.Pool, new_migration: NewMigration, tmp_path: Path
) -> None:
    run = await prepare_delta_at_pub(pool, new_migration, tmp_path / "media")
    for _ in range(5):
        async with pool.acquire() as connection:
            await connection.execute("DELETE FROM distribution")
            await connection.execute("UPDATE pulp2_distributor SET pulp3_distribution_id = NULL")
        results = await asyncio.gather(
            run_batch(pool, STEP, run, {"distributors": [ALPHA]}),
            run_batch(pool, STEP, run, {"distributors": [DELTA]}),
        )
        assert sum(r.done for r in results) == 1
        (failure,) = [f for r in results for f in r.failures]
        assert "overlaps base path" in failure[1]
        assert len(await distributions(pool)) == 1


async def test_a_relative_url_that_leaves_is_a_failure(
    pool: asyncpg.Pool, new_migration: NewMigration, tmp_path: Path
) -> None:
    plan = {
        "plugins": [
            {
                "type": "iso",
                "repositories": [
                    {
                        "name": "bad",
                        "repository_versions": [
                            {
                                "pulp2_repository_id": "bad",
                                "pulp2_distributor_repository_ids": ["bad"],
                            }
                        ],
                    }
                ],
            }
        ]
    }
    run = await prepare(pool, new_migration, tmp_path / "media", plan)
    (result,) = await run_step(pool, STEP, run)
    assert result == BatchResult(
        done=0,
        failures=(("bad/iso_distributor", "base path '/pub/../etc' has a '..' segment"),),
    )
    assert await distributions(pool) == {}


async def test_a_version_without_publication_is_a_failure(
    pool: asyncpg.Pool, new_migration: NewMigration, tmp_path: Path
) -> None:
    await build_world(pool)
    migration = await new_migration(PLAN, settings_with_media(tmp_path / "media"))
    await run_step(pool, repositories.STEP, migration)
    await run_step(pool, repo_versions.STEP, migration)  # not published
    result = await run_batch(pool, STEP, migration, {"distributors": [BETA]})
    assert result == BatchResult(
        done=0,
        failures=(("beta/iso_distributor", "repository 'beta' version 1 has no publication"),),
    )


async def test_running_a_batch_twice_changes_nothing(
    pool: asyncpg.Pool, new_migration: NewMigration, tmp_path: Path
) -> None:
    run = await prepare(pool, new_migration, tmp_path / "media")
    await assert_rerun_changes_nothing(pool, STEP, run, ALL)


async def test_a_rerun_follows_the_distributor_and_its_publication(
    pool: asyncpg.Pool, new_migration: NewMigration, tmp_path: Path
) -> None:
    run = await prepare(pool, new_migration, tmp_path / "media")
    await run_batch(pool, STEP, run, ALL)
    async with pool.acquire() as connection:
        ids = dict(await connection.fetch("SELECT name, id FROM distribution"))
        await connection.execute(
            'UPDATE pulp2_distributor SET config = \'{"relative_url": "/pub/alpha2/"}\''
            " WHERE pulp2_repo_id = 'alpha'"
        )
        await connection.execute(
            "UPDATE distribution SET publication_id = NULL WHERE name = 'beta-iso_distributor'"
        )
    assert await run_batch(pool, STEP, run, ALL) == BatchResult(done=4, created=ANY)
    assert await distributions(pool) == {
        "alpha-iso_distributor": ("pub/alpha2", "alpha", 2),
        "beta-iso_distributor": ("beta", "beta", 1),
        "gamma-iso_distributor": ("isos/gamma", "gamma", 1),
        "gamma-iso_distributor_2": ("gamma", "gamma", 1),
    }
    async with pool.acquire() as connection:
        assert dict(await connection.fetch("SELECT name, id FROM distribution")) == ids


async def test_concurrent_batches_never_both_take_a_base_path(
    pool: asyncpg.Pool, new_migration: NewMigration, tmp_path: Path
) -> None:
    run = await prepare(pool, new_migration, tmp_path / "media", with_delta(PLAN))
    results = await asyncio.gather(
        run_batch(pool, STEP, run, {"distributors": [ALPHA, BETA]}),
        run_batch(pool, STEP, run, {"distributors": [GAMMA, DELTA]}),
    )
    assert sum(r.done for r in results) == 3
    (failure,) = [f for r in results for f in r.failures]
    served = await distributions(pool)
    winner = next(name for name, (path, _, _) in served.items() if path == "pub/alpha")
    loser = {"alpha-iso_distributor": "delta", "delta-iso_distributor": "alpha"}[winner]
    assert failure == (
        f"{loser}/iso_distributor",
        f"base path 'pub/alpha' is already served by distribution {winner!r}",
    )


@pytest.mark.parametrize("first_commits", [True, False])
async def test_a_batch_waits_for_the_one_holding_its_base_path(
    pool: asyncpg.Pool, new_migration: NewMigration, tmp_path: Path, first_commits: bool
) -> None:
    """The second batch blocks on the first's uncommitted base path: it fails when the first
    commits, and takes the base path when the first rolls back."""
    run = await prepare(pool, new_migration, tmp_path / "media", with_delta(PLAN))
    async with pool.acquire() as first:
        transaction = first.transaction()
        await transaction.start()
        assert await create_distributions(first, run, {"distributors": [ALPHA]}) == BatchResult(
            done=1, created=ANY
        )
        second = asyncio.create_task(run_batch(pool, STEP, run, {"distributors": [DELTA]}))

        async def second_blocked() -> bool:
            async with pool.acquire() as observer:
                return await backends_waiting_on_a_lock(observer) == 1

        await eventually(second_blocked, 10, "the second batch to wait for the base path")
        assert not second.done()
        if first_commits:
            await transaction.commit()
        else:
            await transaction.rollback()
        result = await asyncio.wait_for(second, 10)
    if first_commits:
        assert result == BatchResult(
            done=0,
            failures=(
                (
                    "delta/iso_distributor",
                    "base path 'pub/alpha' is already served by distribution "
                    "'alpha-iso_distributor'",
                ),
            ),
        )
        assert (await distributions(pool))["alpha-iso_distributor"][0] == "pub/alpha"
    else:
        assert result == BatchResult(done=1, created=ANY)
        assert await distributions(pool) == {"delta-iso_distributor": ("pub/alpha", "delta", 1)}


def test_distribution_names() -> None:
    assert distribution_name("file", "file", "iso_distributor") == "file-iso_distributor"
    assert distribution_name("file", "file2", "iso_distributor") == "file-file2-iso_distributor"
