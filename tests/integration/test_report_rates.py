"""A running report's steps carry a rate and an ETA from when their batches finished, paused
time left out."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from pulp2to3.actors.registry import steps_for
from pulp2to3.actors.steps import Migration
from pulp2to3.coordination import MigrationStatus
from pulp2to3.store import migrations, progress

PLAN = {"plugins": [{"type": "iso", "repositories": []}]}
TOTAL = 1000


@pytest.fixture
async def running(
    pool: asyncpg.Pool, new_migration: Callable[[dict[str, Any]], Awaitable[Migration]]
) -> tuple[Migration, str]:
    """A migration whose first step started five minutes ago, with three batches recorded:
    20 units 30 s ago, 10 units (2 of them failed) 110 s ago, 40 units 200 s ago."""
    migration = await new_migration(PLAN)
    code = steps_for(migration.plan)[0].code
    async with pool.acquire() as connection:
        await migrations.insert_steps(connection, migration.id, steps_for(migration.plan))
        await migrations.start_step(connection, migration.id, code, TOTAL)
        for key, done, failures, ago in (
            ("a", 20, [], 30),
            ("b", 8, [("u1", "missing"), ("u2", "missing")], 110),
            ("c", 40, [], 200),
        ):
            await progress.record_batch(connection, migration.id, code, key, done, failures)
            await connection.execute(
                "UPDATE migration_batch_progress"
                " SET recorded_at = now() - make_interval(secs => $2) WHERE batch_key = $1",
                key,
                ago,
            )
        await connection.execute(
            "UPDATE migration_step SET started_at = now() - interval '5 minutes'"
        )
        await connection.execute("UPDATE migration SET started_at = now() - interval '5 minutes'")
    return migration, code


async def _report(pool: asyncpg.Pool, migration: Migration) -> migrations.ReportView:
    async with pool.acquire() as connection:
        report = await migrations.get_migration(connection, migration.id)
    assert report is not None
    return report


async def test_the_rate_counts_the_last_minute(
    pool: asyncpg.Pool, running: tuple[Migration, str]
) -> None:
    migration, code = running
    report = await _report(pool, migration)
    (step,) = [step for step in report.steps if step.code == code]
    assert step.rate is not None
    assert math.isclose(step.rate, 20 / 60)
    assert step.eta is not None
    assert math.isclose(step.eta, (TOTAL - 70) / (20 / 60))
    assert report.rate is not None
    assert math.isclose(report.rate, 20 / 60)
    assert [s.rate for s in report.steps if s.code != code] == [None] * (len(report.steps) - 1)


async def test_paused_time_is_left_out(pool: asyncpg.Pool, running: tuple[Migration, str]) -> None:
    """Paused from 100 s to 40 s ago: the minute of running time reaches back 120 s, and takes
    in the batch of 110 s ago."""
    migration, code = running
    async with pool.acquire() as connection:
        await migrations.set_migration_status(connection, migration.id, MigrationStatus.PAUSED)
        await migrations.set_migration_status(connection, migration.id, MigrationStatus.RUNNING)
        moved = await connection.execute(
            "UPDATE migration_pause SET paused_at = now() - interval '100 s',"
            " resumed_at = now() - interval '40 s' WHERE migration_id = $1",
            migration.id,
        )
    assert moved == "UPDATE 1"
    report = await _report(pool, migration)
    (step,) = [step for step in report.steps if step.code == code]
    assert step.rate is not None
    assert math.isclose(step.rate, 30 / 60)


async def test_a_finished_report_has_no_rate(
    pool: asyncpg.Pool, running: tuple[Migration, str]
) -> None:
    migration, _ = running
    async with pool.acquire() as connection:
        await migrations.finish_migration(connection, migration.id, MigrationStatus.COMPLETED, None)
    report = await _report(pool, migration)
    assert report.rate is None
    assert [step.rate for step in report.steps] == [None] * len(report.steps)
