"""Migration reports and their steps: creation, locking, state changes."""

from __future__ import annotations

import dataclasses
import datetime
import uuid
from collections.abc import Sequence
from typing import Any, Protocol

import asyncpg

from pulp2to3.coordination import ReportState, ReportStatus, StepState, StepStatus, TaskState
from pulp2to3.database import queries
from pulp2to3.store.views import ListQueries, count_and_rows, get_rows, snapshot

UNIQUE_UNFINISHED = "migration_report_one_unfinished"


class RunConflict(Exception):
    """Another migration is unfinished: the database refused a second one."""


@dataclasses.dataclass(frozen=True)
class LockedReport:
    id: uuid.UUID
    status: ReportStatus
    validate: bool
    dry_run: bool
    plan: dict[str, Any]
    expanded_plan: dict[str, Any] | None

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> LockedReport:
        return cls(
            id=row["id"],
            status=ReportStatus(row["status"]),
            validate=row["validate"],
            dry_run=row["dry_run"],
            plan=row["plan"],
            expanded_plan=row["expanded_plan"],
        )


def coordinator_lock(report_id: uuid.UUID | str) -> str:
    """The Procrastinate lock and queueing lock of a migration's coordinator jobs."""
    return f"pulp2to3.coordinator.{report_id}"


async def insert_report(
    connection: asyncpg.Connection, plan_id: uuid.UUID, *, validate: bool, dry_run: bool
) -> uuid.UUID:
    try:
        report_id: uuid.UUID = await connection.fetchval(
            queries["insert_report"], plan_id, validate, dry_run
        )
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name == UNIQUE_UNFINISHED:
            raise RunConflict from exc
        raise
    return report_id


async def register_tasks(
    connection: asyncpg.Connection,
    report_id: uuid.UUID,
    step_code: str | None,
    job_ids: Sequence[int],
    batch_keys: Sequence[str | None],
) -> None:
    await connection.execute(
        queries["register_task"], list(job_ids), report_id, step_code, list(batch_keys)
    )


async def set_report_task(
    connection: asyncpg.Connection, report_id: uuid.UUID, job_id: int
) -> None:
    await connection.execute(queries["set_report_task"], report_id, job_id)


async def lock_report(connection: asyncpg.Connection, report_id: uuid.UUID) -> LockedReport | None:
    row = await connection.fetchrow(queries["lock_report"], report_id)
    return None if row is None else LockedReport.from_row(row)


class NewStep(Protocol):
    """What a step row is written from (``actors.steps.Step`` is one)."""

    @property
    def code(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def needs(self) -> Sequence[str]: ...


async def insert_steps(
    connection: asyncpg.Connection, report_id: uuid.UUID, steps: Sequence[NewStep]
) -> None:
    """Write the steps in their order (each after the steps it needs)."""
    await connection.execute(
        queries["insert_steps"],
        report_id,
        [
            {"code": step.code, "description": step.description, "needs": list(step.needs)}
            for step in steps
        ],
    )


async def start_report(
    connection: asyncpg.Connection, report_id: uuid.UUID, expanded_plan: dict[str, Any]
) -> None:
    await connection.execute(queries["start_report"], report_id, expanded_plan)


async def set_report_status(
    connection: asyncpg.Connection, report_id: uuid.UUID, status: ReportStatus
) -> None:
    await connection.execute(queries["set_report_status"], report_id, status.value)


async def finish_report(
    connection: asyncpg.Connection,
    report_id: uuid.UUID,
    status: ReportStatus,
    error: str | None = None,
) -> None:
    await connection.execute(queries["finish_report"], report_id, status.value, error)


async def report_state(
    connection: asyncpg.Connection, report_id: uuid.UUID, status: ReportStatus
) -> ReportState:
    rows = await connection.fetch(queries["step_task_states"], report_id)
    steps: dict[str, tuple[StepStatus, dict[TaskState, int], frozenset[str]]] = {}
    for row in rows:
        _, counts, _ = steps.setdefault(
            row["code"], (StepStatus(row["status"]), {}, frozenset(row["needs"]))
        )
        if row["jobs"]:
            state = TaskState(row["task_state"])
            counts[state] = counts.get(state, 0) + row["jobs"]
    return ReportState(
        status=status,
        steps=tuple(
            StepState(code, status_, counts, needs)
            for code, (status_, counts, needs) in steps.items()
        ),
    )


async def start_step(
    connection: asyncpg.Connection, report_id: uuid.UUID, code: str, total: int
) -> None:
    await connection.execute(queries["start_step"], report_id, code, total)


async def close_step(
    connection: asyncpg.Connection, report_id: uuid.UUID, code: str, status: StepStatus
) -> None:
    await connection.execute(queries["close_step"], report_id, code, status.value)


async def step_failure(connection: asyncpg.Connection, report_id: uuid.UUID, code: str) -> str:
    reason: str | None = await connection.fetchval(queries["step_failure"], report_id, code)
    return f"Step {code} failed: {reason or 'a task failed'}"


async def cancel_unfinished_steps(connection: asyncpg.Connection, report_id: uuid.UUID) -> None:
    await connection.execute(queries["cancel_unfinished_steps"], report_id)


async def unfinished_jobs(connection: asyncpg.Connection, report_id: uuid.UUID) -> list[int]:
    rows = await connection.fetch(
        queries["unfinished_jobs_of_report"], report_id, coordinator_lock(report_id)
    )
    return [row["id"] for row in rows]


async def forget_finished_coordinator_jobs(
    connection: asyncpg.Connection, report_id: uuid.UUID
) -> None:
    await connection.execute(
        queries["forget_finished_coordinator_jobs"], coordinator_lock(report_id)
    )


@dataclasses.dataclass(frozen=True)
class StepView:
    code: str
    description: str
    status: str
    needs: list[str]
    total: int
    done: int
    failed: int
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    job_ids: list[int]
    task_counts: dict[str, int]
    # (unit, reason) of the first units the step could not migrate; `failed` counts them all.
    failures: list[tuple[str, str]]


@dataclasses.dataclass(frozen=True)
class ReportView:
    id: uuid.UUID
    created_at: datetime.datetime
    plan_id: uuid.UUID
    task_job_id: int | None
    status: str
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    error: str | None
    steps: list[StepView]


def _step_view(row: asyncpg.Record, failures: list[tuple[str, str]]) -> StepView:
    return StepView(
        code=row["code"],
        description=row["description"],
        status=row["status"],
        needs=list(row["needs"]),
        total=row["total"],
        done=row["done"],
        failed=row["failed"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        job_ids=list(row["job_ids"]),
        task_counts={
            state: row[f"tasks_{state}"]
            for state in ("waiting", "running", "completed", "failed", "canceled")
        },
        failures=failures,
    )


async def _views(connection: asyncpg.Connection, rows: list[asyncpg.Record]) -> list[ReportView]:
    ids = [row["id"] for row in rows]
    failures: dict[tuple[uuid.UUID, str], list[tuple[str, str]]] = {}
    for row in await connection.fetch(queries["report_unit_failures"], ids):
        key = (row["report_id"], row["step_code"])
        failures.setdefault(key, []).append((row["pulp2_id"], row["reason"]))
    steps: dict[uuid.UUID, list[StepView]] = {report_id: [] for report_id in ids}
    for row in await connection.fetch(queries["report_steps"], ids):
        key = (row["report_id"], row["code"])
        steps[row["report_id"]].append(_step_view(row, failures.get(key, [])))
    return [
        ReportView(
            id=row["id"],
            created_at=row["created_at"],
            plan_id=row["plan_id"],
            task_job_id=row["task_job_id"],
            status=row["status"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            error=row["error"],
            steps=steps[row["id"]],
        )
        for row in rows
    ]


async def list_reports(
    connection: asyncpg.Connection, status: str | None, limit: int, offset: int
) -> tuple[int, list[ReportView]]:
    async with snapshot(connection):
        count, rows = await count_and_rows(
            connection,
            ListQueries("count_reports", "page_reports", "get_reports"),
            (status,),
            limit,
            offset,
        )
        return count, await _views(connection, rows)


async def unfinished_report(connection: asyncpg.Connection) -> uuid.UUID | None:
    """The id of the unfinished migration, if one is."""
    report_id: uuid.UUID | None = await connection.fetchval(queries["unfinished_report"])
    return report_id


async def get_report(connection: asyncpg.Connection, report_id: uuid.UUID) -> ReportView | None:
    async with snapshot(connection):
        views = await _views(connection, await get_rows(connection, "get_reports", [report_id]))
    return views[0] if views else None
