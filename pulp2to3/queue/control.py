"""An operator's hold on a migration: cancel it, pause it, resume it.

Each change runs in one transaction under the migration's row lock, the lock the coordinator holds
while it dispatches, so a change and a dispatch never interleave.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence

import asyncpg

from pulp2to3.coordination import (
    FINISHED_MIGRATION_STATUSES,
    PAUSED_MIGRATION_STATUSES,
    MigrationStatus,
)
from pulp2to3.database import queries
from pulp2to3.queue.dispatch import queue_coordinator
from pulp2to3.store import migrations


class Outcome(enum.Enum):
    DONE = "done"
    NOT_FOUND = "not found"
    FINISHED = "finished"
    NOT_STARTED = "not started"


async def cancel_jobs(connection: asyncpg.Connection, job_ids: Sequence[int]) -> list[int]:
    """Cancel the queued jobs among ``job_ids`` and ask the running ones to abort.

    Runs on the caller's connection, so it commits with the caller's transaction. Returns the
    ids that were queued or running (finished jobs are left alone).
    """
    rows = await connection.fetch(queries["cancel_jobs"], list(job_ids))
    return [row["id"] for row in rows]


async def hold_queued_jobs(connection: asyncpg.Connection, migration_id: uuid.UUID) -> list[int]:
    """Keep workers off the migration's queued tasks until they are released; returns their ids."""
    rows = await connection.fetch(queries["hold_queued_jobs"], migration_id)
    return [row["id"] for row in rows]


async def release_held_jobs(connection: asyncpg.Connection, migration_id: uuid.UUID) -> list[int]:
    """Make the migration's held tasks due again and wake idle workers; returns their ids."""
    rows = await connection.fetch(queries["release_held_jobs"], migration_id)
    return [row["id"] for row in rows]


async def _locked_status(
    connection: asyncpg.Connection, migration_id: uuid.UUID, *, started: bool = False
) -> MigrationStatus | Outcome:
    """The migration's status under its row lock, or why it cannot change: not found, finished,
    or (when it must have ``started``) its migration task has not run yet."""
    locked = await migrations.lock_migration(connection, migration_id)
    if locked is None:
        return Outcome.NOT_FOUND
    if locked.status in FINISHED_MIGRATION_STATUSES:
        return Outcome.FINISHED
    if started and locked.status is MigrationStatus.WAITING:
        return Outcome.NOT_STARTED
    return locked.status


async def cancel_migration(connection: asyncpg.Connection, migration_id: uuid.UUID) -> Outcome:
    """Cancel every queued job of the migration (held ones too) and ask its running ones to
    abort, then mark the migration and its unfinished steps canceled."""
    async with connection.transaction():
        status = await _locked_status(connection, migration_id)
        if isinstance(status, Outcome):
            return status
        await cancel_jobs(connection, await migrations.unfinished_jobs(connection, migration_id))
        await migrations.cancel_unfinished_steps(connection, migration_id)
        await migrations.finish_migration(connection, migration_id, MigrationStatus.CANCELED)
    return Outcome.DONE


async def pause_migration(connection: asyncpg.Connection, migration_id: uuid.UUID) -> Outcome:
    """Hold the migration's queued tasks and call it pausing: its running tasks finish their
    batch, then the coordinator calls it paused. Pausing a paused migration changes nothing."""
    async with connection.transaction():
        status = await _locked_status(connection, migration_id, started=True)
        if isinstance(status, Outcome):
            return status
        if status is MigrationStatus.RUNNING:
            await hold_queued_jobs(connection, migration_id)
            await migrations.set_migration_status(connection, migration_id, MigrationStatus.PAUSING)
    return Outcome.DONE


async def resume_migration(connection: asyncpg.Connection, migration_id: uuid.UUID) -> Outcome:
    """Release the held tasks, call the migration running and poll it at once. Resuming a
    running migration changes nothing."""
    async with connection.transaction():
        status = await _locked_status(connection, migration_id, started=True)
        if isinstance(status, Outcome):
            return status
        if status in PAUSED_MIGRATION_STATUSES:
            await release_held_jobs(connection, migration_id)
            await migrations.set_migration_status(connection, migration_id, MigrationStatus.RUNNING)
            await queue_coordinator(connection, migration_id, at_once=True)
    return Outcome.DONE
