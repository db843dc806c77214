"""Running a step as its tasks run it: plan its batches, then each batch in a transaction."""

from __future__ import annotations

import asyncpg

from pulp2to3.actors.steps import BatchResult, Migration, Step


async def run_step(pool: asyncpg.Pool, migration: Migration, step: Step) -> list[BatchResult]:
    """Every batch of ``step``, one after the other, each on its own connection in a transaction."""
    async with pool.acquire() as connection:
        batches = await step.plan_batches(connection, migration)
    results = []
    for batch in batches:
        async with pool.acquire() as connection, connection.transaction():
            results.append(await step.work(connection, migration, batch.args))
    return results


def failures_of(results: list[BatchResult]) -> dict[str, str]:
    """The named unit failures of a step's batches: Pulp 2 id → reason."""
    return dict(failure for result in results for failure in result.failures)
