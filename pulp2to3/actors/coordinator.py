"""The coordinator (poll job): applies ``coordination.decide`` under the report's row lock."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import asyncpg
import procrastinate
import structlog
from procrastinate.types import JSONDict

from pulp2to3.actors.registry import steps_for
from pulp2to3.actors.steps import Run, Step, current_settings
from pulp2to3.coordination import Decision, ReportStatus, StepStatus, decide
from pulp2to3.plan import parse_plan
from pulp2to3.queue import app
from pulp2to3.queue.control import hold_queued_jobs
from pulp2to3.queue.dispatch import COORDINATOR_TASK, queue_coordinator
from pulp2to3.store import reports

log = structlog.get_logger(__name__)

# The report states in which the coordinator has work: dispatching, or waiting out a pause.
POLLED = frozenset({ReportStatus.RUNNING, ReportStatus.PAUSING})


async def _start(connection: asyncpg.Connection, run: Run, step: Step) -> bool:
    """Queue the step's batches; True when it has nothing to do."""
    batches = await step.plan_batches(connection, run)
    if batches:
        payloads: list[JSONDict] = [
            {"report_id": str(run.report_id), "batch_key": batch.key, "args": dict(batch.args)}
            for batch in batches
        ]
        job_ids = await step.task.configure(connection=connection).batch_defer_async(*payloads)
        await reports.register_tasks(
            connection, run.report_id, step.code, job_ids, [batch.key for batch in batches]
        )
    await reports.start_step(connection, run.report_id, step.code, sum(b.units for b in batches))
    log.info("step_started", step=step.code, tasks=len(batches))
    return not batches


async def _apply(
    connection: asyncpg.Connection, run: Run, steps: Mapping[str, Step], decision: Decision
) -> bool:
    """Carry out ``decision``; True when it started a step that has nothing to do."""
    rid = run.report_id
    for code, status in decision.close_steps:
        await reports.close_step(connection, rid, code, status)
        log.info("step_closed", step=code, status=status.value)
    for code in decision.skip_steps:
        await reports.close_step(connection, rid, code, StepStatus.SKIPPED)
    started_empty = False
    for code in decision.start_steps:
        started_empty = await _start(connection, run, steps[code]) or started_empty
    if decision.finish_report:
        error = None
        if decision.failed_step is not None:
            error = await reports.step_failure(connection, rid, decision.failed_step)
        await reports.finish_report(connection, rid, decision.finish_report, error)
        log.info("migration_finished", status=decision.finish_report.value)
    if decision.pause_report:
        await reports.set_report_status(connection, rid, ReportStatus.PAUSED)
        log.info("migration_paused")
    return started_empty


async def poll(connection: asyncpg.Connection, report_id: uuid.UUID) -> None:
    """One poll, in one transaction holding the report's row lock (as a cancel does)."""
    async with connection.transaction():
        report = await reports.lock_report(connection, report_id)
        if report is None or report.status not in POLLED:
            return
        if report.status is ReportStatus.PAUSING:
            # Again, after the lock: a batch retried since the pause began is held too, and a
            # job a worker fetched meanwhile is seen running below.
            await hold_queued_jobs(connection, report_id)
        await reports.forget_finished_coordinator_jobs(connection, report_id)
        assert report.expanded_plan is not None
        run = Run(report_id, parse_plan(report.expanded_plan), current_settings())
        steps = {step.code: step for step in steps_for(run.plan)}
        while True:
            decision = decide(await reports.report_state(connection, report_id, report.status))
            if not await _apply(connection, run, steps, decision):
                break
        if decision.requeue:
            await queue_coordinator(connection, report_id)


@app.task(name=COORDINATOR_TASK, pass_context=True)
async def coordinate(context: procrastinate.JobContext, report_id: str) -> None:
    # Never retried by Procrastinate: a retry would collide with the successor this job queued.
    rid = uuid.UUID(report_id)
    pool: asyncpg.Pool = context.app.connector.pool  # type: ignore[attr-defined]
    async with pool.acquire() as connection:
        try:
            await poll(connection, rid)
        except Exception:
            # The poll rolled back; poll again later rather than leave the migration stranded.
            log.exception("coordinator_poll_failed")
            async with connection.transaction():
                await queue_coordinator(connection, rid)
