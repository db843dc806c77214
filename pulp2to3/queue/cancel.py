"""Cancelling many jobs at once (Procrastinate only cancels one id per call)."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence

import asyncpg

from pulp2to3.coordination import FINISHED_REPORT_STATUSES, ReportStatus
from pulp2to3.database import queries
from pulp2to3.store import reports


async def cancel_jobs(connection: asyncpg.Connection, job_ids: Sequence[int]) -> list[int]:
    """Cancel the queued jobs among ``job_ids`` and ask the running ones to abort.

    Runs on the caller's connection, so it commits with the caller's transaction. Returns the
    ids that were queued or running (finished jobs are left alone).
    """
    rows = await connection.fetch(queries["cancel_jobs"], list(job_ids))
    return [row["id"] for row in rows]


class CancelOutcome(enum.Enum):
    CANCELED = "canceled"
    NOT_FOUND = "not found"
    FINISHED = "finished"


async def cancel_migration(connection: asyncpg.Connection, report_id: uuid.UUID) -> CancelOutcome:
    """Cancel every queued job of the migration and ask its running ones to abort, then mark
    the report and its unfinished steps canceled: one transaction under the report's row lock,
    the lock the coordinator holds while it dispatches, so the two never interleave."""
    async with connection.transaction():
        report = await reports.lock_report(connection, report_id)
        if report is None:
            return CancelOutcome.NOT_FOUND
        if report.status in FINISHED_REPORT_STATUSES:
            return CancelOutcome.FINISHED
        await cancel_jobs(connection, await reports.unfinished_jobs(connection, report_id))
        await reports.cancel_unfinished_steps(connection, report_id)
        await reports.finish_report(connection, report_id, ReportStatus.CANCELED)
    return CancelOutcome.CANCELED
