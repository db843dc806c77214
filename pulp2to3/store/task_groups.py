"""Task groups as the API shows them: each migration is one (pulpcore's ``TaskGroup``), with its
tasks' counts by state, a progress report per step, and its tasks."""

from __future__ import annotations

import dataclasses
import uuid

import asyncpg

from pulp2to3.database import queries
from pulp2to3.store import tasks
from pulp2to3.store.views import FromColumns, Page, count_and_rows, snapshot, view_queries


@dataclasses.dataclass(frozen=True)
class StepProgress(FromColumns):
    code: str
    description: str
    total: int
    done: int
    failed: int


@dataclasses.dataclass(frozen=True)
class GroupState(FromColumns):
    """A migration as a group: what it runs, whether all is dispatched, its tasks by state."""

    migration_id: uuid.UUID
    plan_id: uuid.UUID
    dry_run: bool
    kind: str  # "migration" or "reset"
    all_tasks_dispatched: bool
    task_states: dict[str, int]
    job_ids: list[int]


@dataclasses.dataclass(frozen=True)
class TaskGroup:
    state: GroupState
    steps: tuple[StepProgress, ...]  # in step order
    tasks: tuple[tasks.TaskRow, ...]


async def _groups(connection: asyncpg.Connection, rows: list[asyncpg.Record]) -> list[TaskGroup]:
    states = [GroupState.from_row(row) for row in rows]
    steps: dict[uuid.UUID, list[StepProgress]] = {state.migration_id: [] for state in states}
    for step in await connection.fetch(queries["migration_steps"], list(steps)):
        steps[step["migration_id"]].append(StepProgress.from_row(step))
    job_ids = [job_id for state in states for job_id in state.job_ids]
    found = {task.job_id: task for task in await tasks.get_tasks(connection, job_ids)}
    return [
        TaskGroup(
            state,
            tuple(steps[state.migration_id]),
            tuple(found[job_id] for job_id in state.job_ids if job_id in found),
        )
        for state in states
    ]


async def list_task_groups(
    connection: asyncpg.Connection, limit: int, offset: int
) -> Page[TaskGroup]:
    async with snapshot(connection):
        count, rows = await count_and_rows(
            connection, view_queries("task_groups"), (), limit, offset
        )
        return count, await _groups(connection, rows)


async def get_task_group(
    connection: asyncpg.Connection, migration_id: uuid.UUID
) -> TaskGroup | None:
    async with snapshot(connection):
        rows = await connection.fetch(queries["view_get_task_groups"], [migration_id])
        groups = await _groups(connection, rows)
    return groups[0] if groups else None
