"""The task that ends a step wakes the coordinator at once: its queued poll is due now and the
workers hear of it, instead of the next scheduled poll starting the next step.

Jobs are fetched and finished the way a worker does it (Procrastinate's own job manager).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import asyncpg
import procrastinate
import pytest
from procrastinate import jobs
from procrastinate.tasks import configure_task

from pulp2to3.actors import coordinator
from pulp2to3.actors.registry import steps_for
from pulp2to3.actors.steps import Migration
from pulp2to3.store import migrations
from tests import queue_actors
from tests.waiting_support import eventually

PLAN = {"plugins": [{"type": "iso", "repositories": []}]}


@pytest.fixture
async def app(db_url: str) -> AsyncIterator[procrastinate.App]:
    with queue_actors.app.replace_connector(queue_actors.make_connector(db_url)) as app:
        async with app.open_async():
            yield app


async def coordinator_due(pool: asyncpg.Pool, migration: Migration) -> bool:
    async with pool.acquire() as connection:
        due: bool = await connection.fetchval(
            "SELECT scheduled_at <= now() FROM procrastinate_jobs"
            " WHERE queueing_lock = $1 AND status = 'todo'",
            migrations.coordinator_lock(migration.id),
        )
    return due


async def poll_once(pool: asyncpg.Pool, migration: Migration, poll_due_in: timedelta) -> None:
    """The migration's steps, and its first poll: it queues premigrate's one task, then the next
    poll, due in ``poll_due_in``."""
    async with pool.acquire() as connection:
        await migrations.insert_steps(connection, migration.id, steps_for(migration.plan))
        await coordinator.poll(connection, migration.id)
        await connection.execute(
            "UPDATE procrastinate_jobs SET scheduled_at = now() + $2::interval"
            " WHERE queueing_lock = $1",
            migrations.coordinator_lock(migration.id),
            poll_due_in,
        )


async def fetch_premigrate(app: procrastinate.App, worker_id: int) -> int:
    """The job a worker takes first, premigrate's; its id."""
    job = await app.job_manager.fetch_job(None, worker_id)
    assert job is not None
    assert job.id is not None
    assert job.task_name == "pulp2to3.premigrate"
    return job.id


async def test_the_last_task_of_a_step_wakes_the_coordinator(
    app: procrastinate.App,
    pool: asyncpg.Pool,
    db_url: str,
    new_migration: Callable[[dict[str, Any]], Awaitable[Migration]],
) -> None:
    migration = await new_migration(PLAN)
    await poll_once(pool, migration, timedelta(hours=1))  # due long after this test
    worker_id = await app.job_manager.register_worker()
    job_id = await fetch_premigrate(app, worker_id)
    assert await app.job_manager.fetch_job(None, worker_id) is None

    notified: list[str] = []
    listener = await asyncpg.connect(db_url)
    try:
        await listener.add_listener(
            "procrastinate_any_queue_v1", lambda *args: notified.append(args[3])
        )
        async with pool.acquire() as connection:
            # Running, so the step has work left: nothing is woken.
            assert not await migrations.wake_coordinator(connection, job_id, migration.id)
            assert not await coordinator_due(pool, migration)
            await app.job_manager.finish_job_by_id_async(job_id, jobs.Status.SUCCEEDED, False)
            assert await migrations.wake_coordinator(connection, job_id, migration.id)
        assert await coordinator_due(pool, migration)

        async def heard() -> bool:
            return bool(notified)

        await eventually(heard, 10, "the workers' channel to be notified")
    finally:
        await listener.close()
    fetched = await app.job_manager.fetch_job(None, worker_id)
    assert fetched is not None
    assert fetched.task_name == "pulp2to3.coordinator"
    async with pool.acquire() as connection:
        # A woken coordinator is not woken twice.
        assert not await migrations.wake_coordinator(connection, job_id, migration.id)


async def test_a_woken_poll_is_taken_before_jobs_queued_earlier(
    app: procrastinate.App,
    pool: asyncpg.Pool,
    new_migration: Callable[[dict[str, Any]], Awaitable[Migration]],
) -> None:
    migration = await new_migration(PLAN)
    # Queued before the poll (so older), due only once the step has ended: another step's batch.
    older = await configure_task(
        name="pulp2to3.create_repositories",
        job_manager=app.job_manager,
        schedule_in={"hours": 1},
    ).defer_async(migration_id=str(migration.id), batch_key="repos-0", args={})
    await poll_once(pool, migration, timedelta(hours=1))
    worker_id = await app.job_manager.register_worker()
    job_id = await fetch_premigrate(app, worker_id)
    async with pool.acquire() as connection:
        await app.job_manager.finish_job_by_id_async(job_id, jobs.Status.SUCCEEDED, False)
        assert await migrations.wake_coordinator(connection, job_id, migration.id)
        await connection.execute(
            "UPDATE procrastinate_jobs SET scheduled_at = now() WHERE id = $1", older
        )
    first = await app.job_manager.fetch_job(None, worker_id)
    second = await app.job_manager.fetch_job(None, worker_id)
    assert first is not None
    assert second is not None
    assert (first.task_name, second.id) == ("pulp2to3.coordinator", older)
    assert (first.id or 0) > older, "the poll was queued after the other job"


async def test_a_poll_not_woken_waits_its_turn(
    app: procrastinate.App,
    pool: asyncpg.Pool,
    new_migration: Callable[[dict[str, Any]], Awaitable[Migration]],
) -> None:
    """A poll that is only due (its interval passed) is taken after the jobs queued before it:
    were every poll first, a worker whose polls outlast their interval would run nothing else."""
    migration = await new_migration(PLAN)
    await poll_once(pool, migration, timedelta(0))  # the next poll is due now
    worker_id = await app.job_manager.register_worker()
    first = await app.job_manager.fetch_job(None, worker_id)
    second = await app.job_manager.fetch_job(None, worker_id)
    assert first is not None
    assert second is not None
    assert (first.task_name, second.task_name) == ("pulp2to3.premigrate", "pulp2to3.coordinator")
