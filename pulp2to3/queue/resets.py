"""Queueing a reset of a plan: its row (a migration of kind ``reset``) and its one task."""

from __future__ import annotations

import uuid

import asyncpg
from procrastinate.tasks import configure_task

from pulp2to3.queue.application import app
from pulp2to3.store import migrations, resets

# Queued by name, so that the API process need not import the actors.
RESET_ACTOR = "pulp2to3.reset"


async def queue_reset(connection: asyncpg.Connection, plan_id: uuid.UUID) -> tuple[uuid.UUID, int]:
    """Insert a waiting reset and queue its task in one transaction; ``MigrationConflict`` when
    a migration or reset is unfinished. Returns the reset's id and its task's job id."""
    async with connection.transaction():
        reset_id = await resets.insert_reset(connection, plan_id)
        job_id = await configure_task(
            name=RESET_ACTOR, job_manager=app.job_manager, connection=connection
        ).defer_async(migration_id=str(reset_id))
        await migrations.set_migration_task(connection, reset_id, job_id)
        await migrations.register_tasks(connection, reset_id, None, [job_id], [None])
    return reset_id, job_id
