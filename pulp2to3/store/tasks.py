"""Tasks as the API shows them: a migration's jobs with their state, times, worker and error."""

from __future__ import annotations

import dataclasses
import datetime
import uuid
from typing import Any

import asyncpg

from pulp2to3.database import queries


@dataclasses.dataclass(frozen=True)
class TaskFilter:
    report_id: uuid.UUID | None = None
    step: str | None = None
    state: str | None = None


@dataclasses.dataclass(frozen=True)
class TaskRow:
    job_id: int
    report_id: uuid.UUID
    step: str | None
    name: str
    state: str
    created_at: datetime.datetime
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    worker: str | None
    error_description: str | None
    error_traceback: str | None
    created_resources: list[Any]

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> TaskRow:
        return cls(
            job_id=row["job_id"],
            report_id=row["report_id"],
            step=row["step_code"],
            name=row["task_name"],
            state=row["state"],
            created_at=row["created_at"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            worker=row["worker_name"],
            error_description=row["error_description"],
            error_traceback=row["error_traceback"],
            created_resources=row["created_resources"],
        )


async def list_tasks(
    connection: asyncpg.Connection, where: TaskFilter, limit: int, offset: int
) -> tuple[int, list[TaskRow]]:
    filters = (where.report_id, where.step, where.state)
    count: int = await connection.fetchval(queries["count_tasks"], *filters)
    rows = await connection.fetch(queries["list_tasks"], *filters, None, limit, offset)
    return count, [TaskRow.from_row(row) for row in rows]


async def get_task(connection: asyncpg.Connection, job_id: int) -> TaskRow | None:
    row = await connection.fetchrow(queries["list_tasks"], None, None, None, job_id, 1, 0)
    return None if row is None else TaskRow.from_row(row)
