"""Pause and resume: held tasks are never fetched, running ones finish, resume lets them run.

Jobs are fetched the way a worker fetches them (Procrastinate's own job manager), one at a time,
so that every interleaving below happens in the order written.
"""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import procrastinate
import pytest

from pulp2to3.actors import coordinator
from pulp2to3.actors.registry import steps_for
from pulp2to3.actors.steps import Migration
from pulp2to3.queue.control import (
    Outcome,
    cancel_migration,
    pause_migration,
    resume_migration,
)
from pulp2to3.store import migrations, tasks
from tests import queue_actors

PLAN = {"plugins": [{"type": "iso", "repositories": []}]}
PREMIGRATE = "pulp2to3.premigrate"


@pytest.fixture
async def app(db_url: str) -> AsyncIterator[procrastinate.App]:
    with queue_actors.app.replace_connector(queue_actors.make_connector(db_url)) as app:
        async with app.open_async():
            yield app


@pytest.fixture
async def dispatched(
    pool: asyncpg.Pool, new_migration: Callable[[dict[str, Any]], Awaitable[Migration]]
) -> Migration:
    """A running migration whose coordinator has queued its first step's one task."""
    migration = await new_migration(PLAN)
    async with pool.acquire() as connection:
        steps = steps_for(migration.plan)
        await migrations.insert_steps(connection, migration.id, steps)
        await coordinator.poll(connection, migration.id)
    return migration


async def fetch_all(app: procrastinate.App) -> list[str]:
    """Fetch every job a worker could take now; the names of those it got."""
    worker_id = await app.job_manager.register_worker()
    names = []
    while (job := await app.job_manager.fetch_job(None, worker_id)) is not None:
        names.append(job.task_name)
    return names


async def status_of(pool: asyncpg.Pool, migration: Migration) -> str:
    async with pool.acquire() as connection:
        status: str = await connection.fetchval(
            "SELECT status FROM migration WHERE id = $1", migration.id
        )
    return status


async def poll(pool: asyncpg.Pool, migration: Migration) -> None:
    async with pool.acquire() as connection:
        await coordinator.poll(connection, migration.id)


async def premigrate_job(pool: asyncpg.Pool, migration: Migration) -> tuple[str, bool]:
    """The premigrate task's job status, and whether it is held."""
    async with pool.acquire() as connection:
        row = await connection.fetchrow(
            "SELECT j.status::text, j.scheduled_at = 'infinity' AS held"
            " FROM migration_task t"
            " JOIN procrastinate_jobs j ON j.id = t.job_id"
            " WHERE t.migration_id = $1 AND t.step_code = 'premigrate'",
            migration.id,
        )
    return row["status"], bool(row["held"])


async def test_a_queued_task_is_held_until_the_migration_resumes(
    app: procrastinate.App, pool: asyncpg.Pool, dispatched: Migration
) -> None:
    async with pool.acquire() as connection:
        assert await pause_migration(connection, dispatched.id) is Outcome.DONE
        # Pausing again changes nothing.
        assert await pause_migration(connection, dispatched.id) is Outcome.DONE
    assert await status_of(pool, dispatched) == "pausing"
    assert await premigrate_job(pool, dispatched) == ("todo", True)
    assert PREMIGRATE not in await fetch_all(app)

    # Nothing of the migration runs: the next poll calls it paused and polls no more.
    await poll(pool, dispatched)
    assert await status_of(pool, dispatched) == "paused"
    assert await premigrate_job(pool, dispatched) == ("todo", True)
    assert PREMIGRATE not in await fetch_all(app)

    async with pool.acquire() as connection:
        # The poll queued by the first one is the job that would have called it paused, and
        # would not have queued another: take it away, as a worker would have run it.
        await connection.execute(
            "DELETE FROM procrastinate_jobs WHERE queueing_lock = $1",
            migrations.coordinator_lock(dispatched.id),
        )
        assert await resume_migration(connection, dispatched.id) is Outcome.DONE
    assert await status_of(pool, dispatched) == "running"
    assert await premigrate_job(pool, dispatched) == ("todo", False)
    fetched = await fetch_all(app)
    assert PREMIGRATE in fetched
    assert "pulp2to3.coordinator" in fetched  # resuming polls at once


async def test_a_held_task_is_listed_with_finite_times(
    pool: asyncpg.Pool, dispatched: Migration
) -> None:
    # Holding a job schedules it at 'infinity', and Procrastinate records a 'scheduled' event at
    # that time: the task's times must not take it (the API writes them in RFC 3339).
    async with pool.acquire() as connection:
        assert await pause_migration(connection, dispatched.id) is Outcome.DONE
        page = await tasks.list_tasks(connection, [tasks.report_is(dispatched.id)], [], 10, 0)
    _count, [held] = page
    assert held.unblocked_at is None
    assert held.last_updated_at.tzinfo is not None
    assert held.last_updated_at >= held.created_at


async def test_a_running_task_finishes_and_a_retry_of_it_is_held_too(
    app: procrastinate.App, pool: asyncpg.Pool, dispatched: Migration
) -> None:
    worker_id = await app.job_manager.register_worker()
    running = await app.job_manager.fetch_job(None, worker_id)
    assert running is not None
    assert running.task_name == PREMIGRATE
    async with pool.acquire() as connection:
        assert await pause_migration(connection, dispatched.id) is Outcome.DONE

    # The running task keeps the migration pausing.
    await poll(pool, dispatched)
    assert await status_of(pool, dispatched) == "pausing"

    # It fails and is retried, as Procrastinate retries a batch: the next poll holds the retry.
    assert running.id is not None
    await app.job_manager.retry_job_by_id_async(running.id, datetime.datetime.now(datetime.UTC))
    await poll(pool, dispatched)
    assert await status_of(pool, dispatched) == "paused"
    assert await premigrate_job(pool, dispatched) == ("todo", True)
    assert PREMIGRATE not in await fetch_all(app)

    async with pool.acquire() as connection:
        assert await resume_migration(connection, dispatched.id) is Outcome.DONE
    assert PREMIGRATE in await fetch_all(app)


async def test_canceling_a_paused_migration_cancels_its_held_tasks(
    pool: asyncpg.Pool, dispatched: Migration
) -> None:
    async with pool.acquire() as connection:
        await pause_migration(connection, dispatched.id)
        await coordinator.poll(connection, dispatched.id)
        assert await cancel_migration(connection, dispatched.id) is Outcome.DONE
        assert await migrations.unfinished_jobs(connection, dispatched.id) == []
        # A canceled migration can be neither paused nor resumed.
        assert await pause_migration(connection, dispatched.id) is Outcome.FINISHED
        assert await resume_migration(connection, dispatched.id) is Outcome.FINISHED
    assert await status_of(pool, dispatched) == "canceled"
    assert await premigrate_job(pool, dispatched) == ("cancelled", True)
