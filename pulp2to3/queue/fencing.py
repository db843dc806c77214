"""Fencing a job's attempt: a worker cut off from the database while it ran a job finds, when
the link comes back, that its job ran again elsewhere, and then commits and records nothing.

A job's attempt is its row's ``attempts`` at fetch time: the stalled-job retry counts one more,
so a worker's stale attempt no longer matches. A batch checks its attempt in the transaction
that writes its work (``fence``); the worker checks it before it records a job's end.
"""

from __future__ import annotations

import asyncpg
from procrastinate import jobs

from pulp2to3.database import queries


class JobTakenOver(Exception):
    """The job's attempt is no longer current: it was retried (its worker counted as stalled)."""

    def __init__(self, job: jobs.Job) -> None:
        super().__init__(f"job {job.id} (attempt {job.attempts}) was taken over by a retry")


async def attempt_current(connection: asyncpg.Connection, job: jobs.Job) -> bool:
    row = await connection.fetchval(queries["job_attempt_current"], job.id, job.attempts)
    return row is not None


async def fence(connection: asyncpg.Connection, job: jobs.Job) -> None:
    """Refuse the caller's transaction (raise ``JobTakenOver``) unless ``job``'s attempt is still
    current; call it last before the commit: it holds the job's row until then."""
    if not await attempt_current(connection, job):
        raise JobTakenOver(job)
