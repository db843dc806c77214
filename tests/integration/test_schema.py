"""What the schema itself guarantees, whatever the code above it does."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from pulp2to3.schema import init_db


async def new_plan(connection: asyncpg.Connection) -> object:
    return await connection.fetchval(
        "INSERT INTO migration_plan (plan) VALUES ($1::jsonb) RETURNING id", {"plugins": []}
    )


async def test_init_db_again_changes_nothing(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as connection:
        await connection.execute("INSERT INTO migration_plan (plan) VALUES ('{}')")
        await init_db(connection)
        assert await connection.fetchval("SELECT count(*) FROM migration_plan") == 1


async def test_at_most_one_unfinished_report(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as connection:
        plan_id = await new_plan(connection)
        first = await connection.fetchval(
            "INSERT INTO migration (plan_id) VALUES ($1) RETURNING id", plan_id
        )
        for status in ("waiting", "running", "paused"):
            with pytest.raises(asyncpg.UniqueViolationError) as caught:
                await connection.execute(
                    "INSERT INTO migration (plan_id, status) VALUES ($1, $2)",
                    plan_id,
                    status,
                )
            assert caught.value.constraint_name == "migration_one_unfinished"
        # Finished reports do not count.
        await connection.execute(
            "INSERT INTO migration (plan_id, status)"
            " VALUES ($1, 'completed'), ($1, 'failed'), ($1, 'canceled')",
            plan_id,
        )
        await connection.execute("UPDATE migration SET status = 'completed' WHERE id = $1", first)
        await connection.execute("INSERT INTO migration (plan_id) VALUES ($1)", plan_id)


async def test_concurrent_inserts_let_exactly_one_unfinished_report_in(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as connection:
        plan_id = await new_plan(connection)

    async def attempt() -> bool:
        async with pool.acquire() as connection:
            try:
                await connection.execute("INSERT INTO migration (plan_id) VALUES ($1)", plan_id)
            except asyncpg.UniqueViolationError:
                return False
            return True

    outcomes = await asyncio.gather(*(attempt() for _ in range(8)))
    assert outcomes.count(True) == 1


async def test_content_is_unique_by_type_and_natural_key(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as connection:
        insert = "INSERT INTO content (pulp_type, natural_key) VALUES ($1, $2)"
        await connection.execute(insert, "file.file", "a|sha|1")
        await connection.execute(insert, "rpm.package", "a|sha|1")
        with pytest.raises(asyncpg.UniqueViolationError):
            await connection.execute(insert, "file.file", "a|sha|1")


async def test_artifacts_are_keyed_by_a_real_sha256(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as connection:
        insert = "INSERT INTO artifact (sha256, size, file) VALUES ($1, 1, 'x')"
        await connection.execute(insert, "a" * 64)
        with pytest.raises(asyncpg.UniqueViolationError):
            await connection.execute(insert, "a" * 64)
        with pytest.raises(asyncpg.CheckViolationError):
            await connection.execute(insert, "not-a-digest")


@pytest.mark.parametrize("base_path", ["/lead", "trail/", "a/../b", "..", "a/./b", "./a"])
async def test_distribution_base_paths_stay_normalized(pool: asyncpg.Pool, base_path: str) -> None:
    async with pool.acquire() as connection:
        with pytest.raises(asyncpg.CheckViolationError):
            await connection.execute(
                "INSERT INTO distribution (pulp_type, name, base_path) VALUES ('file', $1, $1)",
                base_path,
            )


async def test_distribution_base_paths_are_unique(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as connection:
        insert = "INSERT INTO distribution (pulp_type, name, base_path) VALUES ('file', $1, $2)"
        await connection.execute(insert, "one", "pub/iso")
        with pytest.raises(asyncpg.UniqueViolationError):
            await connection.execute(insert, "two", "pub/iso")


@pytest.mark.parametrize(
    ("job_status", "abort_requested", "state"),
    [
        ("todo", False, "waiting"),
        ("doing", False, "running"),
        ("doing", True, "canceling"),
        ("succeeded", False, "completed"),
        ("failed", False, "failed"),
        ("cancelled", True, "canceled"),
        ("aborted", True, "canceled"),
    ],
)
async def test_task_states_are_mapped_from_job_statuses(
    pool: asyncpg.Pool, job_status: str, abort_requested: bool, state: str
) -> None:
    async with pool.acquire() as connection:
        mapped = await connection.fetchval(
            "SELECT pulp2to3_task_state($1, $2)", job_status, abort_requested
        )
    assert mapped == state


async def test_new_pulp_ids_are_time_ordered_version_7_uuids(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as connection:
        before = await connection.fetchval("SELECT clock_timestamp()")
        ids = [
            await connection.fetchval(
                "INSERT INTO content (pulp_type, natural_key) VALUES ('file.file', $1)"
                " RETURNING pulp_id",
                f"key-{number}",
            )
            for number in range(3)
        ]
        after = await connection.fetchval("SELECT clock_timestamp()")
    assert [pulp_id.version for pulp_id in ids] == [7, 7, 7]
    assert [pulp_id.variant for pulp_id in ids] == [uuid.RFC_4122] * 3
    milliseconds = [pulp_id.int >> 80 for pulp_id in ids]
    assert milliseconds == sorted(milliseconds)
    assert int(before.timestamp() * 1000) - 1 <= milliseconds[0]
    assert milliseconds[-1] <= int(after.timestamp() * 1000) + 1
