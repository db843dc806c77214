"""Cancelling many jobs at once (Procrastinate only cancels one id per call)."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from pulp2to3.database import queries


async def cancel_jobs(connection: asyncpg.Connection, job_ids: Sequence[int]) -> list[int]:
    """Cancel the queued jobs among ``job_ids`` and ask the running ones to abort.

    Runs on the caller's connection, so it commits with the caller's transaction. Returns the
    ids that were queued or running (finished jobs are left alone).
    """
    rows = await connection.fetch(queries["cancel_jobs"], list(job_ids))
    return [row["id"] for row in rows]
