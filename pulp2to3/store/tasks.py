"""Tasks as the API shows them: a migration's jobs with their state, times, worker and error."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import uuid
from collections.abc import Sequence

import asyncpg

from pulp2to3.database import queries
from pulp2to3.store.lists import Column, Condition, Listing, Op, Order, read_list
from pulp2to3.store.views import Page


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


_TIME = "timestamptz"
_FROM = f"({queries['task_rows']}) AS t"

# pulpcore 3.49's task filters and orderings (TaskFilter), over what a task is here: a task's
# migration is its task group (and report) and its logging_cid; its plan, the one resource it
# reserves (exclusively). No task has a parent or children; no job records arguments.
TASKS = Listing(
    table=_FROM,
    columns={
        "pulp_id": Column("t.job_id", "bigint"),
        "pk": Column("t.job_id", "bigint"),
        "pulp_href": Column("t.job_id", "bigint"),
        "pulp_created": Column("t.created_at", _TIME),
        "pulp_last_updated": Column("t.last_updated_at", _TIME),
        "state": Column("t.state", "text"),
        "name": Column("t.task_name", "text"),
        "logging_cid": Column("t.migration_id::text", "text"),
        "unblocked_at": Column("t.unblocked_at", _TIME),
        "started_at": Column("t.started_at", _TIME),
        "finished_at": Column("t.finished_at", _TIME),
        "error": Column("t.error_description", "text"),
        "worker": Column("t.worker_name", "text"),
        "parent_task": Column("NULL::bigint", "bigint"),
        "child_tasks": Column("NULL::bigint", "bigint"),
        "task_group": Column("t.migration_id", "uuid"),
        "report": Column("t.migration_id", "uuid"),
        "step": Column("t.step_code", "text"),
        "created_resources": Column(
            "ARRAY(SELECT (r ->> 'pulp_id')::uuid"
            " FROM jsonb_array_elements(t.created_resources) AS r)",
            "uuid",
            many=True,
        ),
        "reserved_resources_record": Column("ARRAY[t.plan_id]", "uuid", many=True),
        "reserved_resources": Column("ARRAY[t.plan_id]", "uuid", many=True),
        "exclusive_resources": Column("ARRAY[t.plan_id]", "uuid", many=True),
        "shared_resources": Column("'{}'::uuid[]", "uuid", many=True),
    },
    get=f"SELECT * FROM {_FROM} WHERE t.job_id = ANY($1::bigint[]) ORDER BY t.job_id",
    key="job_id",
    tiebreak="t.job_id",
)


async def list_tasks(
    connection: asyncpg.Connection,
    conditions: Sequence[Condition],
    ordering: Sequence[Order],
    limit: int,
    offset: int,
) -> Page[TaskRow]:
    return await read_list(connection, TASKS, conditions, ordering, limit, offset, TaskRow.from_row)


def report_is(migration_id: uuid.UUID) -> Condition:
    """The condition of the tasks of one migration."""
    return Condition("report", Op.EQ, migration_id)


async def get_tasks(connection: asyncpg.Connection, job_ids: list[int]) -> list[TaskRow]:
    return [TaskRow.from_row(row) for row in await connection.fetch(TASKS.get, job_ids)]


async def get_task(connection: asyncpg.Connection, job_id: int) -> TaskRow | None:
    found = await get_tasks(connection, [job_id])
    return found[0] if found else None
