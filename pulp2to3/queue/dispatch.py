"""Queueing a migration's own jobs: the report with its migration task, and the coordinator."""

from __future__ import annotations

import uuid

import asyncpg
from procrastinate import exceptions
from procrastinate.tasks import configure_task
from procrastinate.types import TimeDeltaParams

from pulp2to3.queue.application import app
from pulp2to3.store import reports

# Tasks are queued by name, so that the API process need not import the actors.
MIGRATION_TASK = "pulp2to3.migrate"
COORDINATOR_TASK = "pulp2to3.coordinator"

# How long the coordinator sleeps between two polls; workers see it within POLL_INTERVAL more.
POLL_EVERY: TimeDeltaParams = {"milliseconds": 500}


async def start_run(
    connection: asyncpg.Connection, plan_id: uuid.UUID, *, validate: bool, dry_run: bool
) -> tuple[uuid.UUID, int]:
    """Insert a waiting report and queue its migration task in one transaction.

    Raises ``reports.RunConflict`` when another migration is unfinished (the database decides).
    Returns the report id and the migration task's job id.
    """
    async with connection.transaction():
        report_id = await reports.insert_report(
            connection, plan_id, validate=validate, dry_run=dry_run
        )
        job_id = await configure_task(
            name=MIGRATION_TASK, job_manager=app.job_manager, connection=connection
        ).defer_async(report_id=str(report_id))
        await reports.set_report_task(connection, report_id, job_id)
        await reports.register_tasks(connection, report_id, None, [job_id], [None])
    return report_id, job_id


async def queue_coordinator(
    connection: asyncpg.Connection, report_id: uuid.UUID, *, at_once: bool = False
) -> None:
    """Queue the next poll in the caller's transaction; one is enough if one is queued already."""
    key = reports.coordinator_lock(report_id)
    deferrer = configure_task(
        name=COORDINATOR_TASK,
        job_manager=app.job_manager,
        connection=connection,
        lock=key,
        queueing_lock=key,
        schedule_in=None if at_once else POLL_EVERY,
    )
    try:
        async with connection.transaction():  # a savepoint: a refusal must not end the caller's
            await deferrer.defer_async(report_id=str(report_id))
    except exceptions.AlreadyEnqueued:
        pass
