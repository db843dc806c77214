"""Queueing a migration's own jobs: the migration with its migration task, and the coordinator."""

from __future__ import annotations

import uuid

import asyncpg
from procrastinate import exceptions
from procrastinate.tasks import configure_task
from procrastinate.types import TimeDeltaParams

from pulp2to3.queue.application import app
from pulp2to3.store import migrations

# Tasks are queued by name, so that the API process need not import the actors.
MIGRATION_ACTOR = "pulp2to3.migrate"
COORDINATOR_ACTOR = "pulp2to3.coordinator"

# How long the coordinator sleeps between two polls; workers see it within POLL_INTERVAL more.
POLL_EVERY: TimeDeltaParams = {"milliseconds": 500}


async def queue_migration(
    connection: asyncpg.Connection,
    plan_id: uuid.UUID,
    *,
    validate: bool,
    dry_run: bool,
    skip_corrupted: bool = False,
) -> tuple[uuid.UUID, int]:
    """Insert a waiting migration and queue its migration task in one transaction.

    Raises ``MigrationConflict`` when another migration is unfinished (the database decides).
    Returns the migration id and the migration task's job id.
    """
    async with connection.transaction():
        migration_id = await migrations.insert_migration(
            connection, plan_id, validate=validate, dry_run=dry_run, skip_corrupted=skip_corrupted
        )
        job_id = await configure_task(
            name=MIGRATION_ACTOR, job_manager=app.job_manager, connection=connection
        ).defer_async(migration_id=str(migration_id))
        await migrations.set_migration_task(connection, migration_id, job_id)
        await migrations.register_tasks(connection, migration_id, None, [job_id], [None])
    return migration_id, job_id


async def queue_coordinator(
    connection: asyncpg.Connection, migration_id: uuid.UUID, *, at_once: bool = False
) -> None:
    """Queue the next poll in the caller's transaction; one is enough if one is queued already."""
    key = migrations.coordinator_lock(migration_id)
    deferrer = configure_task(
        name=COORDINATOR_ACTOR,
        job_manager=app.job_manager,
        connection=connection,
        lock=key,
        queueing_lock=key,
        schedule_in=None if at_once else POLL_EVERY,
    )
    try:
        async with connection.transaction():  # a savepoint: a refusal must not end the caller's
            await deferrer.defer_async(migration_id=str(migration_id))
    except exceptions.AlreadyEnqueued:
        pass
