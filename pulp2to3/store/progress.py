"""What tasks record as they run: batch counters, per-unit failures, worker and error."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence

import asyncpg

from pulp2to3.database import queries
from pulp2to3.store.tasks import ResourceKind


@dataclasses.dataclass(frozen=True)
class Created:
    """A row a batch created: its kind, and its id in the table of that kind."""

    kind: ResourceKind
    id: int


async def record_batch(
    connection: asyncpg.Connection,
    migration_id: uuid.UUID,
    step_code: str,
    batch_key: str,
    done: int,
    failures: Sequence[tuple[str, str]],
) -> None:
    """Counters and failures of one batch, in the caller's transaction (the batch's work)."""
    await connection.execute(
        queries["record_batch_progress"], migration_id, step_code, batch_key, done, len(failures)
    )
    await connection.execute(queries["forget_unit_failures"], migration_id, step_code, batch_key)
    if failures:
        await connection.execute(
            queries["record_unit_failures"],
            migration_id,
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


async def record_created(
    connection: asyncpg.Connection, job_id: int, created: Sequence[Created]
) -> None:
    """Name what a job created, by UUID, after what an earlier attempt of it committed."""
    await connection.execute(
        queries["record_created_resources"],
        job_id,
        [resource.kind.value for resource in created],
        [resource.id for resource in created],
    )
