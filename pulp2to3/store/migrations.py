"""Migrations and their steps: creation, locking, state changes."""

from __future__ import annotations

import dataclasses
import datetime
import uuid
from collections.abc import Sequence
from typing import Any, Protocol

import asyncpg

from pulp2to3 import rates
from pulp2to3.coordination import MigrationState, MigrationStatus, StepState, StepStatus, TaskState
from pulp2to3.database import queries
from pulp2to3.store.views import ListQueries, count_and_rows, get_rows, snapshot

UNIQUE_UNFINISHED = "migration_one_unfinished"


class MigrationConflict(Exception):
    """Another migration is unfinished: the database refused a second one."""


@dataclasses.dataclass(frozen=True)
class LockedMigration:
    id: uuid.UUID
    status: MigrationStatus
    validate: bool
    dry_run: bool
    plan: dict[str, Any]
    expanded_plan: dict[str, Any] | None

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> LockedMigration:
        return cls(
            id=row["id"],
            status=MigrationStatus(row["status"]),
            validate=row["validate"],
            dry_run=row["dry_run"],
            plan=row["plan"],
            expanded_plan=row["expanded_plan"],
        )


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """What a run was asked for (pulp-2to3-migration's ``MigrationPlanRun``)."""

    validate: bool = False
    dry_run: bool = False
    skip_corrupted: bool = False


def coordinator_lock(migration_id: uuid.UUID | str) -> str:
    """The Procrastinate lock and queueing lock of a migration's coordinator jobs."""
    return f"pulp2to3.coordinator.{migration_id}"


async def wake_coordinator(
    connection: asyncpg.Connection, job_id: int, migration_id: uuid.UUID | str
) -> bool:
    """Job ``job_id`` of a step of the migration ended: if it was the step's last unfinished
    task, the queued coordinator runs now rather than at its scheduled poll, and the workers are
    notified as of a new job. True when it was woken."""
    woken = await connection.fetchval(
        queries["wake_coordinator"], job_id, coordinator_lock(migration_id)
    )
    return woken is not None


async def insert_migration(
    connection: asyncpg.Connection,
    plan_id: uuid.UUID,
    *,
    validate: bool,
    dry_run: bool,
    skip_corrupted: bool = False,
) -> uuid.UUID:
    return await insert_unfinished(
        connection, "insert_migration", plan_id, validate, dry_run, skip_corrupted
    )


async def insert_unfinished(connection: asyncpg.Connection, query: str, *args: Any) -> uuid.UUID:
    """Insert a waiting migration (or reset) with ``query``; ``MigrationConflict`` when another
    is unfinished (the database decides)."""
    try:
        migration_id: uuid.UUID = await connection.fetchval(queries[query], *args)
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name == UNIQUE_UNFINISHED:
            raise MigrationConflict from exc
        raise
    return migration_id


async def register_tasks(
    connection: asyncpg.Connection,
    migration_id: uuid.UUID,
    step_code: str | None,
    job_ids: Sequence[int],
    batch_keys: Sequence[str | None],
) -> None:
    await connection.execute(
        queries["register_task"], list(job_ids), migration_id, step_code, list(batch_keys)
    )


async def set_migration_task(
    connection: asyncpg.Connection, migration_id: uuid.UUID, job_id: int
) -> None:
    await connection.execute(queries["set_migration_task"], migration_id, job_id)


async def lock_migration(
    connection: asyncpg.Connection, migration_id: uuid.UUID
) -> LockedMigration | None:
    row = await connection.fetchrow(queries["lock_migration"], migration_id)
    return None if row is None else LockedMigration.from_row(row)


async def skips_corrupted(connection: asyncpg.Connection, migration_id: uuid.UUID) -> bool:
    return bool(await connection.fetchval(queries["migration_skips_corrupted"], migration_id))


class NewStep(Protocol):
    """What a step row is written from (``actors.steps.Step`` is one)."""

    @property
    def code(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def needs(self) -> Sequence[str]: ...


async def insert_steps(
    connection: asyncpg.Connection, migration_id: uuid.UUID, steps: Sequence[NewStep]
) -> None:
    """Write the steps in their order (each after the steps it needs)."""
    await connection.execute(
        queries["insert_steps"],
        migration_id,
        [
            {"code": step.code, "description": step.description, "needs": list(step.needs)}
            for step in steps
        ],
    )


async def start_migration(
    connection: asyncpg.Connection, migration_id: uuid.UUID, expanded_plan: dict[str, Any]
) -> None:
    await connection.execute(queries["start_migration"], migration_id, expanded_plan)


async def set_migration_status(
    connection: asyncpg.Connection, migration_id: uuid.UUID, status: MigrationStatus
) -> None:
    await connection.execute(queries["set_migration_status"], migration_id, status.value)


async def finish_migration(
    connection: asyncpg.Connection,
    migration_id: uuid.UUID,
    status: MigrationStatus,
    error: str | None = None,
) -> None:
    await connection.execute(queries["finish_migration"], migration_id, status.value, error)


async def migration_state(
    connection: asyncpg.Connection, migration_id: uuid.UUID, status: MigrationStatus
) -> MigrationState:
    rows = await connection.fetch(queries["step_task_states"], migration_id)
    steps: dict[str, tuple[StepStatus, dict[TaskState, int], frozenset[str]]] = {}
    for row in rows:
        _, counts, _ = steps.setdefault(
            row["code"], (StepStatus(row["status"]), {}, frozenset(row["needs"]))
        )
        if row["jobs"]:
            state = TaskState(row["task_state"])
            counts[state] = counts.get(state, 0) + row["jobs"]
    return MigrationState(
        status=status,
        steps=tuple(
            StepState(code, status_, counts, needs)
            for code, (status_, counts, needs) in steps.items()
        ),
    )


async def start_step(
    connection: asyncpg.Connection, migration_id: uuid.UUID, code: str, total: int
) -> None:
    await connection.execute(queries["start_step"], migration_id, code, total)


async def close_step(
    connection: asyncpg.Connection, migration_id: uuid.UUID, code: str, status: StepStatus
) -> None:
    await connection.execute(queries["close_step"], migration_id, code, status.value)


async def step_failure(connection: asyncpg.Connection, migration_id: uuid.UUID, code: str) -> str:
    reason: str | None = await connection.fetchval(queries["step_failure"], migration_id, code)
    return f"Step {code} failed: {reason or 'a task failed'}"


async def cancel_unfinished_steps(connection: asyncpg.Connection, migration_id: uuid.UUID) -> None:
    await connection.execute(queries["cancel_unfinished_steps"], migration_id)


async def unfinished_jobs(connection: asyncpg.Connection, migration_id: uuid.UUID) -> list[int]:
    rows = await connection.fetch(
        queries["unfinished_jobs_of_migration"], migration_id, coordinator_lock(migration_id)
    )
    return [row["id"] for row in rows]


async def forget_finished_coordinator_jobs(
    connection: asyncpg.Connection, migration_id: uuid.UUID
) -> None:
    await connection.execute(
        queries["forget_finished_coordinator_jobs"], coordinator_lock(migration_id)
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
    # Units per second over the last minute of running time, and seconds left at that pace:
    # None while the step is not running or too little was seen (pulp2to3.rates).
    rate: float | None = None
    eta: float | None = None


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
    options: RunOptions = RunOptions()
    kind: str = "migration"  # or "reset"
    rate: float | None = None  # the same, over every step
    eta: float | None = None


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
    for row in await connection.fetch(queries["migration_unit_failures"], ids):
        key = (row["migration_id"], row["step_code"])
        failures.setdefault(key, []).append((row["pulp2_id"], row["reason"]))
    steps: dict[uuid.UUID, list[StepView]] = {migration_id: [] for migration_id in ids}
    for row in await connection.fetch(queries["migration_steps"], ids):
        key = (row["migration_id"], row["code"])
        steps[row["migration_id"]].append(_step_view(row, failures.get(key, [])))
    samples = await _samples(connection, ids)
    return [
        _with_rates(
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
                options=RunOptions(row["validate"], row["dry_run"], row["skip_corrupted"]),
                kind=row["kind"],
            ),
            samples.get(row["id"]),
        )
        for row in rows
    ]


@dataclasses.dataclass(frozen=True)
class _Samples:
    now: float  # the database's clock, in epoch seconds like the rest
    pauses: list[tuple[float, float | None]]
    batches: dict[str, list[tuple[float, int]]]  # per step: (finished at, units)


async def _samples(
    connection: asyncpg.Connection, ids: list[uuid.UUID]
) -> dict[uuid.UUID, _Samples]:
    """What the rates of the unfinished reports among ``ids`` are estimated from."""
    found: dict[uuid.UUID, _Samples] = {}
    for row in await connection.fetch(queries["report_pauses"], ids):
        sample = found.setdefault(row["migration_id"], _Samples(row["now"], [], {}))
        if row["paused_at"] is not None:
            sample.pauses.append((row["paused_at"], row["resumed_at"]))
    if found:
        for row in await connection.fetch(queries["report_recent_batches"], ids, rates.WINDOW):
            batches = found[row["migration_id"]].batches
            batches.setdefault(row["step_code"], []).append((row["at"], row["units"]))
    return found


def _left(step: StepView) -> int:
    return max(0, step.total - step.done - step.failed)


def _estimate(
    samples: _Samples, since: datetime.datetime | None, left: int, batches: list[tuple[float, int]]
) -> rates.Estimate:
    return rates.estimate(
        since=None if since is None else since.timestamp(),
        now=samples.now,
        left=left,
        finished=batches,
        pauses=samples.pauses,
    )


def _with_rates(report: ReportView, samples: _Samples | None) -> ReportView:
    """The report with the rates and ETAs of its running steps, and overall, when it runs."""
    if samples is None:
        return report
    steps = []
    for step in report.steps:
        if step.status == "running":
            found = _estimate(
                samples, step.started_at, _left(step), samples.batches.get(step.code, [])
            )
            step = dataclasses.replace(step, rate=found.rate, eta=found.eta)
        steps.append(step)
    overall = _estimate(
        samples,
        report.started_at,
        sum(_left(step) for step in steps),
        [batch for batches in samples.batches.values() for batch in batches],
    )
    return dataclasses.replace(report, steps=steps, rate=overall.rate, eta=overall.eta)


async def list_migrations(
    connection: asyncpg.Connection, status: str | None, limit: int, offset: int
) -> tuple[int, list[ReportView]]:
    async with snapshot(connection):
        count, rows = await count_and_rows(
            connection,
            ListQueries("count_migrations", "page_migrations", "get_migrations"),
            (status,),
            limit,
            offset,
        )
        return count, await _views(connection, rows)


async def unfinished_migration(connection: asyncpg.Connection) -> uuid.UUID | None:
    """The id of the unfinished migration, if one is."""
    migration_id: uuid.UUID | None = await connection.fetchval(queries["unfinished_migration"])
    return migration_id


async def get_migration(
    connection: asyncpg.Connection, migration_id: uuid.UUID
) -> ReportView | None:
    async with snapshot(connection):
        views = await _views(
            connection, await get_rows(connection, "get_migrations", [migration_id])
        )
    return views[0] if views else None
