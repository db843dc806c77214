"""What every step shares: its batches, the task that runs one, and how a batch records itself."""

from __future__ import annotations

import dataclasses
import functools
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import asyncpg
import procrastinate

from pulp2to3.plan import Plan, parse_plan
from pulp2to3.queue import app
from pulp2to3.queue.application import STALLED_AFTER
from pulp2to3.queue.fencing import fence
from pulp2to3.settings import Settings, load_settings
from pulp2to3.store import plans, progress, status

# A batch that raised (a lost connection, a deadlock) runs once more before it counts as failed.
BATCH_RETRY = procrastinate.RetryStrategy(max_attempts=2, wait=1)


@dataclasses.dataclass(frozen=True)
class Migration:
    """What a job of one migration knows: which migration, the expanded plan, the settings."""

    id: uuid.UUID
    plan: Plan
    settings: Settings


@dataclasses.dataclass(frozen=True)
class Batch:
    key: str  # unique within its step: a retry of the batch records under the same key
    units: int  # what the batch moves, counted towards the step's total
    args: Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class BatchResult:
    done: int
    failures: tuple[tuple[str, str], ...] = ()  # (what, why) for each unit that failed
    created: tuple[progress.Created, ...] = ()  # what the API names as the task's creations
    # Set: the batch's work and counters commit, then its task fails with this error.
    error: str | None = None


class BatchFailed(Exception):
    """A batch that committed what it could and still fails its task (and so its step)."""


BatchWork = Callable[[asyncpg.Connection, Migration, Mapping[str, Any]], Awaitable[BatchResult]]
BatchPlanner = Callable[[asyncpg.Connection, Migration], Awaitable[list[Batch]]]


@dataclasses.dataclass(frozen=True)
class Step:
    code: str
    description: str
    actor: procrastinate.tasks.Task[Any, Any, Any]  # runs one batch: ``work`` and its counters
    plan_batches: BatchPlanner
    work: BatchWork
    needs: tuple[str, ...] = ()  # codes of the steps it starts after; set by ``steps_for``


async def one_per_live_worker(connection: asyncpg.Connection, at_most: int) -> int:
    """How many pieces to cut work into that every live worker takes at once: one per worker
    whose heart beats, one at least, ``at_most`` at most."""
    return min(at_most, max(1, len(await status.online_workers(connection, STALLED_AFTER))))


@functools.cache
def current_settings() -> Settings:
    return load_settings()


# The parsed expanded plans of the last migrations this process ran a job of: a migration's
# expanded plan is written once, when its migration task plans it, and parsing one of 1,000
# repositories took 90 ms, which every batch (1,000 of them for 1,000,000 units) paid again.
_PARSED_PLANS: dict[uuid.UUID, Plan] = {}
_PARSED_PLANS_KEPT = 4


def parsed_plan(migration_id: uuid.UUID, expanded: Any) -> Plan:
    """The migration's expanded plan parsed, once per process."""
    plan = _PARSED_PLANS.get(migration_id)
    if plan is None:
        plan = parse_plan(expanded)
        if len(_PARSED_PLANS) >= _PARSED_PLANS_KEPT:
            _PARSED_PLANS.clear()
        _PARSED_PLANS[migration_id] = plan
    return plan


async def load_migration(connection: asyncpg.Connection, migration_id: uuid.UUID) -> Migration:
    plan = _PARSED_PLANS.get(migration_id)
    if plan is None:
        expanded = await plans.expanded_plan(connection, migration_id)
        if expanded is None:
            raise LookupError(f"migration {migration_id} has no expanded plan")
        plan = parsed_plan(migration_id, expanded)
    return Migration(id=migration_id, plan=plan, settings=current_settings())


def batch_actor(
    name: str, step_code: str
) -> Callable[[BatchWork], procrastinate.tasks.Task[Any, Any, Any]]:
    """Make ``work`` an actor (a Procrastinate task) that runs one batch of ``step_code``.

    The work and the batch's counters commit in one transaction, so a batch that is retried or
    aborted half-way leaves no partial count; work must be idempotent (upserts on natural keys).
    The transaction commits only if the job's attempt is still current (``fence``): a worker cut
    off meanwhile, whose batch ran again elsewhere, writes nothing when its link comes back.
    """

    def decorate(work: BatchWork) -> procrastinate.tasks.Task[Any, Any, Any]:
        async def run_batch(
            context: procrastinate.JobContext,
            migration_id: str,
            batch_key: str,
            args: dict[str, Any],
        ) -> dict[str, int]:
            pool: asyncpg.Pool = context.app.connector.pool  # type: ignore[attr-defined]
            async with pool.acquire() as connection:
                migration = await load_migration(connection, uuid.UUID(migration_id))
                async with connection.transaction():
                    result = await work(connection, migration, args)
                    await progress.record_batch(
                        connection,
                        migration.id,
                        step_code,
                        batch_key,
                        result.done,
                        result.failures,
                    )
                    if result.created:
                        assert context.job.id is not None
                        await progress.record_created(connection, context.job.id, result.created)
                    await fence(connection, context.job)
            if result.error is not None:
                raise BatchFailed(result.error)
            return {"done": result.done, "failed": len(result.failures)}

        run_batch.__name__ = work.__name__
        run_batch.__qualname__ = work.__qualname__
        return app.task(name=name, pass_context=True, retry=BATCH_RETRY)(run_batch)

    return decorate


def make_step(code: str, description: str, work: BatchWork, plan_batches: BatchPlanner) -> Step:
    """The step ``code``, its batches run by the actor ``pulp2to3.<code>``."""
    actor = batch_actor(f"pulp2to3.{code}", code)(work)
    return Step(code, description, actor, plan_batches, work)
