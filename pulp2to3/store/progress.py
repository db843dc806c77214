"""What tasks record as they run: batch counters, per-unit failures, worker and error."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from pulp2to3.database import queries


async def record_batch(
    connection: asyncpg.Connection,
    report_id: uuid.UUID,
    step_code: str,
    batch_key: str,
    done: int,
    failures: Sequence[tuple[str, str]],
) -> None:
    """Counters and failures of one batch, in the caller's transaction (the batch's work)."""
    await connection.execute(
        queries["record_batch_progress"], report_id, step_code, batch_key, done, len(failures)
    )
    await connection.execute(queries["forget_unit_failures"], report_id, step_code, batch_key)
    if failures:
        await connection.execute(
            queries["record_unit_failures"],
            report_id,
            step_code,
            batch_key,
            [name for name, _ in failures],
            [reason for _, reason in failures],
        )


async def task_started(connection: asyncpg.Connection, job_id: int, worker: str) -> None:
    await connection.execute(queries["task_started"], job_id, worker)


async def task_failed(
    connection: asyncpg.Connection, job_id: int, description: str, traceback: str
) -> None:
    await connection.execute(queries["task_failed"], job_id, description, traceback)
