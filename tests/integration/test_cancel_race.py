"""A cancel racing the coordinator's dispatch never leaves a queued or running job behind."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from pulp2to3.actors import coordinator
from pulp2to3.actors.registry import steps_for
from pulp2to3.actors.steps import Run
from pulp2to3.queue.control import Outcome, cancel_migration
from pulp2to3.store import reports

PLAN = {"plugins": [{"type": "iso", "repositories": []}]}


async def test_cancel_and_poll_at_the_same_moment_leave_no_job_behind(
    pool: asyncpg.Pool, new_run: Callable[[dict[str, Any]], Awaitable[Run]]
) -> None:
    outcomes = set()
    for attempt in range(15):
        run = await new_run(PLAN)
        async with pool.acquire() as setup:
            steps = steps_for(run.plan)
            await reports.insert_steps(setup, run.report_id, steps)
        async with pool.acquire() as polling, pool.acquire() as canceling:
            # Alternate who starts first; the row lock decides who goes first for real.
            first, second = (
                (
                    coordinator.poll(polling, run.report_id),
                    cancel_migration(canceling, run.report_id),
                )
                if attempt % 2
                else (
                    cancel_migration(canceling, run.report_id),
                    coordinator.poll(polling, run.report_id),
                )
            )
            results = await asyncio.gather(first, second)
        assert Outcome.DONE in results
        async with pool.acquire() as connection:
            assert await reports.unfinished_jobs(connection, run.report_id) == []
            status = await connection.fetchval(
                "SELECT status FROM migration_report WHERE id = $1", run.report_id
            )
            dispatched = await connection.fetchval(
                "SELECT count(*) FROM migration_task WHERE report_id = $1", run.report_id
            )
        assert status == "canceled"
        outcomes.add(dispatched > 0)
    # Both orders happened: the poll dispatched before some cancels and not before others.
    assert outcomes == {True, False}
