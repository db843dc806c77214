"""Starting a migration: the report and its migration task, committed together."""

from __future__ import annotations

import uuid

import asyncpg
from procrastinate.tasks import configure_task

from pulp2to3.queue.application import app
from pulp2to3.store import reports

MIGRATION_TASK = "pulp2to3.migrate"


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
        # By name, so that the API process need not import the actors.
        job_id = await configure_task(
            name=MIGRATION_TASK, job_manager=app.job_manager, connection=connection
        ).defer_async(report_id=str(report_id))
        await reports.set_report_task(connection, report_id, job_id)
        await reports.register_tasks(connection, report_id, None, [job_id], [None])
    return report_id, job_id
