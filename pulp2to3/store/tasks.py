"""Tasks as the API shows them: a migration's jobs with their state, times, worker and error."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import uuid

import asyncpg

from pulp2to3.store.views import ListQueries, Page, get_rows, read_one, read_page


class ResourceKind(enum.StrEnum):
    """What a task can create; each is also the name of the table its rows are in."""

    REPOSITORY = "repository"
    REMOTE = "remote"
    PUBLICATION = "publication"
    DISTRIBUTION = "distribution"


@dataclasses.dataclass(frozen=True)
class CreatedResource:
    kind: ResourceKind
    pulp_id: uuid.UUID


@dataclasses.dataclass(frozen=True)
class TaskFilter:
    migration_id: uuid.UUID | None = None
    step: str | None = None
    state: str | None = None


@dataclasses.dataclass(frozen=True)
class BatchProgress:
    """What a step task's batch moved: its planned units (when known), done and failed."""

    step_description: str
    total: int | None  # what the step planned for the batch, when the batch says
    done: int
    failed: int


@dataclasses.dataclass(frozen=True)
class TaskRow:
    job_id: int
    migration_id: uuid.UUID
    step: str | None
    name: str
    state: str
    created_at: datetime.datetime
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    worker: str | None
    error_description: str | None
    error_traceback: str | None
    created_resources: tuple[CreatedResource, ...]
    plan_id: uuid.UUID
    last_updated_at: datetime.datetime
    unblocked_at: datetime.datetime | None
    progress: BatchProgress | None  # None: the migration task, which runs no batch

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> TaskRow:
        return cls(
            job_id=row["job_id"],
            migration_id=row["migration_id"],
            step=row["step_code"],
            name=row["task_name"],
            state=row["state"],
            created_at=row["created_at"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            worker=row["worker_name"],
            error_description=row["error_description"],
            error_traceback=row["error_traceback"],
            created_resources=tuple(
                CreatedResource(ResourceKind(created["kind"]), uuid.UUID(created["pulp_id"]))
                for created in row["created_resources"]
            ),
            plan_id=row["plan_id"],
            last_updated_at=row["last_updated_at"],
            unblocked_at=row["unblocked_at"],
            progress=None
            if row["step_code"] is None
            else BatchProgress(
                step_description=row["step_description"],
                total=row["batch_total"],
                done=row["batch_done"] or 0,
                failed=row["batch_failed"] or 0,
            ),
        )


async def list_tasks(
    connection: asyncpg.Connection, where: TaskFilter, limit: int, offset: int
) -> Page[TaskRow]:
    filters = (where.migration_id, where.step, where.state)
    return await read_page(
        connection,
        ListQueries("count_tasks", "page_tasks", "get_tasks"),
        filters,
        limit,
        offset,
        TaskRow.from_row,
    )


async def get_tasks(connection: asyncpg.Connection, job_ids: list[int]) -> list[TaskRow]:
    return [TaskRow.from_row(row) for row in await get_rows(connection, "get_tasks", job_ids)]


async def get_task(connection: asyncpg.Connection, job_id: int) -> TaskRow | None:
    return await read_one(connection, "get_tasks", job_id, TaskRow.from_row)
