"""An operator's hold on a migration: cancel it, pause it, resume it.

Each change runs in one transaction under the report's row lock, the lock the coordinator holds
while it dispatches, so a change and a dispatch never interleave.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence

import asyncpg

from pulp2to3.coordination import (
    FINISHED_REPORT_STATUSES,
    PAUSED_REPORT_STATUSES,
    ReportStatus,
)
from pulp2to3.database import queries
from pulp2to3.queue.dispatch import queue_coordinator
from pulp2to3.store import reports


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


async def hold_queued_jobs(connection: asyncpg.Connection, report_id: uuid.UUID) -> list[int]:
    """Keep workers off the migration's queued tasks until they are released; returns their ids."""
    rows = await connection.fetch(queries["hold_queued_jobs"], report_id)
    return [row["id"] for row in rows]


async def release_held_jobs(connection: asyncpg.Connection, report_id: uuid.UUID) -> list[int]:
    """Make the migration's held tasks due again and wake idle workers; returns their ids."""
    rows = await connection.fetch(queries["release_held_jobs"], report_id)
    return [row["id"] for row in rows]


async def _locked_status(
    connection: asyncpg.Connection, report_id: uuid.UUID, *, started: bool = False
) -> ReportStatus | Outcome:
    """The report's status under its row lock, or why it cannot change: not found, finished,
    or (when it must have ``started``) its migration task has not run yet."""
    report = await reports.lock_report(connection, report_id)
    if report is None:
        return Outcome.NOT_FOUND
    if report.status in FINISHED_REPORT_STATUSES:
        return Outcome.FINISHED
    if started and report.status is ReportStatus.WAITING:
        return Outcome.NOT_STARTED
    return report.status


async def cancel_migration(connection: asyncpg.Connection, report_id: uuid.UUID) -> Outcome:
    """Cancel every queued job of the migration (held ones too) and ask its running ones to
    abort, then mark the report and its unfinished steps canceled."""
    async with connection.transaction():
        status = await _locked_status(connection, report_id)
        if isinstance(status, Outcome):
            return status
        await cancel_jobs(connection, await reports.unfinished_jobs(connection, report_id))
        await reports.cancel_unfinished_steps(connection, report_id)
        await reports.finish_report(connection, report_id, ReportStatus.CANCELED)
    return Outcome.DONE


async def pause_migration(connection: asyncpg.Connection, report_id: uuid.UUID) -> Outcome:
    """Hold the migration's queued tasks and call it pausing: its running tasks finish their
    batch, then the coordinator calls it paused. Pausing a paused migration changes nothing."""
    async with connection.transaction():
        status = await _locked_status(connection, report_id, started=True)
        if isinstance(status, Outcome):
            return status
        if status is ReportStatus.RUNNING:
            await hold_queued_jobs(connection, report_id)
            await reports.set_report_status(connection, report_id, ReportStatus.PAUSING)
    return Outcome.DONE


async def resume_migration(connection: asyncpg.Connection, report_id: uuid.UUID) -> Outcome:
    """Release the held tasks, call the migration running and poll it at once. Resuming a
    running migration changes nothing."""
    async with connection.transaction():
        status = await _locked_status(connection, report_id, started=True)
        if isinstance(status, Outcome):
            return status
        if status in PAUSED_REPORT_STATUSES:
            await release_held_jobs(connection, report_id)
            await reports.set_report_status(connection, report_id, ReportStatus.RUNNING)
            await queue_coordinator(connection, report_id, at_once=True)
    return Outcome.DONE
