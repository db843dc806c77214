"""A cancel racing the coordinator's dispatch never leaves a queued or running job behind."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from pulp2to3.actors import coordinator
from pulp2to3.actors.registry import steps_for
from pulp2to3.actors.steps import Migration
from pulp2to3.queue.control import Outcome, cancel_migration
from pulp2to3.store import migrations

PLAN = {"plugins": [{"type": "iso", "repositories": []}]}


async def test_cancel_and_poll_at_the_same_moment_leave_no_job_behind(
    pool: asyncpg.Pool, new_migration: Callable[[dict[str, Any]], Awaitable[Migration]]
) -> None:
    outcomes = set()
    for attempt in range(15):
        migration = await new_migration(PLAN)
        async with pool.acquire() as setup:
            steps = steps_for(migration.plan)
            await migrations.insert_steps(setup, migration.id, steps)
        async with pool.acquire() as polling, pool.acquire() as canceling:
            # Alternate who starts first; the row lock decides who goes first for real.
            first, second = (
                (
                    coordinator.poll(polling, migration.id),
                    cancel_migration(canceling, migration.id),
                )
                if attempt % 2
                else (
                    cancel_migration(canceling, migration.id),
                    coordinator.poll(polling, migration.id),
                )
            )
            results = await asyncio.gather(first, second)
        assert Outcome.DONE in results
        async with pool.acquire() as connection:
            assert await migrations.unfinished_jobs(connection, migration.id) == []
            status = await connection.fetchval(
                "SELECT status FROM migration WHERE id = $1", migration.id
            )
            dispatched = await connection.fetchval(
                "SELECT count(*) FROM migration_task WHERE migration_id = $1", migration.id
            )
        assert status == "canceled"
        outcomes.add(dispatched > 0)
    # Both orders happened: the poll dispatched before some cancels and not before others.
    assert outcomes == {True, False}
