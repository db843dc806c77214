"""A batch's counters and named failures: a batch that runs again replaces, never adds."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from pulp2to3.actors.steps import Migration
from pulp2to3.store.progress import record_batch

PLAN = {"plugins": [{"type": "iso", "repositories": []}]}


async def test_a_rerun_batch_replaces_its_counters_and_failures(
    pool: asyncpg.Pool, new_migration: Callable[[dict[str, Any]], Awaitable[Migration]]
) -> None:
    migration = await new_migration(PLAN)
    async with pool.acquire() as connection:
        await record_batch(
            connection, migration.id, "step", "b1", 8, [("u1", "gone"), ("u2", "bad")]
        )
        await record_batch(connection, migration.id, "step", "b2", 5, [("u9", "gone")])
        await record_batch(connection, migration.id, "step", "b1", 9, [("u2", "still bad")])
        counters = await connection.fetch(
            "SELECT batch_key, done, failed FROM migration_batch_progress ORDER BY batch_key"
        )
        failures = await connection.fetch(
            "SELECT batch_key, pulp2_id, reason FROM migration_unit_failure ORDER BY pulp2_id"
        )
    assert [tuple(row) for row in counters] == [("b1", 9, 1), ("b2", 5, 1)]
    assert [tuple(row) for row in failures] == [("b1", "u2", "still bad"), ("b2", "u9", "gone")]
