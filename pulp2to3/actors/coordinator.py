"""The coordinator (poll job): applies ``coordination.decide`` under the migration's row lock."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import asyncpg
import procrastinate
import structlog
from procrastinate.types import JSONDict

from pulp2to3.actors.registry import steps_for
from pulp2to3.actors.steps import Migration, Step, current_settings, parsed_plan
from pulp2to3.coordination import Decision, MigrationStatus, StepStatus, decide
from pulp2to3.queue import app
from pulp2to3.queue.control import hold_queued_jobs
from pulp2to3.queue.dispatch import COORDINATOR_ACTOR, queue_coordinator
from pulp2to3.store import migrations

log = structlog.get_logger(__name__)

# The migration states in which the coordinator has work: dispatching, or waiting out a pause.
POLLED = frozenset({MigrationStatus.RUNNING, MigrationStatus.PAUSING})


async def _start(connection: asyncpg.Connection, migration: Migration, step: Step) -> bool:
    """Queue the step's batches; True when it has nothing to do."""
    batches = await step.plan_batches(connection, migration)
    if batches:
        payloads: list[JSONDict] = [
            {"migration_id": str(migration.id), "batch_key": batch.key, "args": dict(batch.args)}
            for batch in batches
        ]
        job_ids = await step.actor.configure(connection=connection).batch_defer_async(*payloads)
        await migrations.register_tasks(
            connection, migration.id, step.code, job_ids, [batch.key for batch in batches]
        )
    await migrations.start_step(connection, migration.id, step.code, sum(b.units for b in batches))
    log.info("step_started", step=step.code, tasks=len(batches))
    return not batches


async def _apply(
    connection: asyncpg.Connection,
    migration: Migration,
    steps: Mapping[str, Step],
    decision: Decision,
) -> bool:
    """Carry out ``decision``; True when it started a step that has nothing to do."""
    rid = migration.id
    for code, status in decision.close_steps:
        await migrations.close_step(connection, rid, code, status)
        log.info("step_closed", step=code, status=status.value)
    for code in decision.skip_steps:
        await migrations.close_step(connection, rid, code, StepStatus.SKIPPED)
    started_empty = False
    for code in decision.start_steps:
        started_empty = await _start(connection, migration, steps[code]) or started_empty
    if decision.finish_migration:
        error = None
        if decision.failed_step is not None:
            error = await migrations.step_failure(connection, rid, decision.failed_step)
        await migrations.finish_migration(connection, rid, decision.finish_migration, error)
        log.info("migration_finished", status=decision.finish_migration.value)
    if decision.pause_migration:
        await migrations.set_migration_status(connection, rid, MigrationStatus.PAUSED)
        log.info("migration_paused")
    return started_empty


async def poll(connection: asyncpg.Connection, migration_id: uuid.UUID) -> None:
    """One poll, in one transaction holding the migration's row lock (as a cancel does)."""
    async with connection.transaction():
        locked = await migrations.lock_migration(connection, migration_id)
        if locked is None or locked.status not in POLLED:
            return
        if locked.status is MigrationStatus.PAUSING:
            # Again, after the lock: a batch retried since the pause began is held too, and a
            # job a worker fetched meanwhile is seen running below.
            await hold_queued_jobs(connection, migration_id)
        await migrations.forget_finished_coordinator_jobs(connection, migration_id)
        assert locked.expanded_plan is not None
        plan = parsed_plan(migration_id, locked.expanded_plan)
        migration = Migration(migration_id, plan, current_settings())
        steps = {step.code: step for step in steps_for(migration.plan)}
        while True:
            decision = decide(
                await migrations.migration_state(connection, migration_id, locked.status)
            )
            if not await _apply(connection, migration, steps, decision):
                break
        if decision.requeue:
            await queue_coordinator(connection, migration_id)


@app.task(name=COORDINATOR_ACTOR, pass_context=True)
async def coordinate(context: procrastinate.JobContext, migration_id: str) -> None:
    # Never retried by Procrastinate: a retry would collide with the successor this job queued.
    rid = uuid.UUID(migration_id)
    pool: asyncpg.Pool = context.app.connector.pool  # type: ignore[attr-defined]
    async with pool.acquire() as connection:
        try:
            await poll(connection, rid)
        except Exception:
            # The poll rolled back; poll again later rather than leave the migration stranded.
            log.exception("coordinator_poll_failed")
            async with connection.transaction():
                await queue_coordinator(connection, rid)
