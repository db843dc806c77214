"""The figures ``GET /metrics`` shows, read from the database in one snapshot at scrape time."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence

import asyncpg

from pulp2to3.database import queries
from pulp2to3.store import status
from pulp2to3.store.views import snapshot


@dataclasses.dataclass(frozen=True)
class StepFigures:
    migration_id: uuid.UUID
    code: str
    total: int
    done: int
    failed: int
    seconds: float | None  # how long it ran (so far); None before it started


@dataclasses.dataclass(frozen=True)
class BatchDurations:
    step_code: str
    count: int
    sum: float
    cumulative: list[int]  # how many took at most each bound, in the bounds' order


@dataclasses.dataclass(frozen=True)
class Figures:
    reports: dict[uuid.UUID, str]  # status
    steps: list[StepFigures]
    task_states: list[tuple[uuid.UUID, str, int]]
    queue_depth: dict[str, int]
    online_workers: int
    batch_durations: list[BatchDurations]


async def figures(
    connection: asyncpg.Connection, *, stalled_after: float, bounds: Sequence[float]
) -> Figures:
    async with snapshot(connection):
        reports = await connection.fetch(queries["metrics_reports"])
        steps = await connection.fetch(queries["metrics_steps"])
        task_states = await connection.fetch(queries["metrics_task_states"])
        queues = await connection.fetch(queries["metrics_queue_depth"])
        workers = await status.online_workers(connection, stalled_after)
        durations = await connection.fetch(queries["metrics_batch_durations"], list(bounds))
    return Figures(
        reports={row["id"]: row["status"] for row in reports},
        steps=[
            StepFigures(
                row["migration_id"],
                row["code"],
                row["total"],
                row["done"],
                row["failed"],
                row["seconds"],
            )
            for row in steps
        ],
        task_states=[(row["migration_id"], row["state"], row["tasks"]) for row in task_states],
        queue_depth={row["queue_name"]: row["jobs"] for row in queues},
        online_workers=len(workers),
        batch_durations=[
            BatchDurations(row["step_code"], row["count"], row["sum"], list(row["cumulative"]))
            for row in durations
        ],
    )
