"""The migration task: validate and expand the plan, write the steps, start the coordinator."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg
import procrastinate
import structlog

from pulp2to3.actors.registry import steps_for
from pulp2to3.actors.steps import current_settings
from pulp2to3.coordination import MigrationStatus
from pulp2to3.plan import (
    Plan,
    PlanError,
    SourceIndex,
    expand,
    missing_references,
    parse_plan,
    plan_to_json,
)
from pulp2to3.plugins.registry import PLUGINS
from pulp2to3.pulp2.dump import open_dump
from pulp2to3.pulp2.errors import DumpError, DumpUnreadable
from pulp2to3.pulp2.inventory import Inventory, read_inventory
from pulp2to3.queue import app
from pulp2to3.queue.dispatch import MIGRATION_ACTOR, queue_coordinator
from pulp2to3.store import migrations

log = structlog.get_logger(__name__)


def _read_inventory(dump_path: Path | None) -> Inventory:
    if dump_path is None:
        raise DumpUnreadable.not_configured()
    try:
        return read_inventory(open_dump(dump_path))
    except DumpError as exc:
        raise DumpUnreadable.because(exc) from exc


def _expand(plan: Plan, inventory: Inventory) -> Plan:
    return expand(
        plan,
        {
            plugin.type: inventory.repositories_of_type(PLUGINS[plugin.type].pulp2_repo_type)
            for plugin in plan.plugins
        },
    )


def _missing(plan: Plan, inventory: Inventory) -> list[str]:
    source = SourceIndex(
        repositories=frozenset(inventory.repositories),
        importers=inventory.importers,
        distributors=inventory.distributors,
    )
    return missing_references(plan, source)


async def _fail(connection: asyncpg.Connection, migration_id: uuid.UUID, error: str) -> None:
    async with connection.transaction():
        locked = await migrations.lock_migration(connection, migration_id)
        if locked is not None and locked.status is MigrationStatus.WAITING:
            await migrations.finish_migration(
                connection, migration_id, MigrationStatus.FAILED, error
            )
    log.warning("migration_failed", error=error)


@app.task(name=MIGRATION_ACTOR, pass_context=True)
async def migrate(context: procrastinate.JobContext, migration_id: str) -> str:
    rid = uuid.UUID(migration_id)
    pool: asyncpg.Pool = context.app.connector.pool  # type: ignore[attr-defined]
    async with pool.acquire() as connection:
        async with connection.transaction():
            locked = await migrations.lock_migration(connection, rid)
        if locked is None or locked.status is not MigrationStatus.WAITING:
            return "nothing to do"
        try:
            plan = parse_plan(locked.plan)
            # Reading the dump may take a while: no lock is held meanwhile.
            inventory = await asyncio.to_thread(_read_inventory, current_settings().pulp2_dump)
        except (PlanError, DumpUnreadable) as exc:
            await _fail(connection, rid, str(exc))
            return "failed"
        expanded = _expand(plan, inventory)
        missing = _missing(expanded, inventory) if locked.validate or locked.dry_run else []
        if missing:
            await _fail(
                connection,
                rid,
                "The plan names what the Pulp 2 source lacks: " + "; ".join(missing) + ".",
            )
            return "failed"
        async with connection.transaction():
            locked = await migrations.lock_migration(connection, rid)
            if locked is None or locked.status is not MigrationStatus.WAITING:
                return "canceled meanwhile"
            if locked.dry_run:
                await migrations.finish_migration(connection, rid, MigrationStatus.COMPLETED)
                return "validated"
            steps = steps_for(expanded)
            await migrations.insert_steps(connection, rid, steps)
            await migrations.start_migration(connection, rid, plan_to_json(expanded))
            await queue_coordinator(connection, rid, at_once=True)
    log.info("migration_planned", steps=[s.code for s in steps])
    return "running"
