"""The ``migrate_content.<type>`` steps: staged Pulp 2 units of one type become Pulp 3 content.

Planning splits the units of the type still to migrate into id ranges of the type's batch size;
each range is one batch task. A batch locks its units that are not migrated yet and hands them
to the plugin's ``ContentType.migrate``; a unit that cannot be migrated is a per-unit failure.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import asyncpg
import structlog

from pulp2to3.actors.steps import Batch, BatchResult, Migration, Step, make_step
from pulp2to3.plugins import ContentType, CorruptFile
from pulp2to3.store import content, migrations

log = structlog.get_logger(__name__)


async def plan_content_batches(
    connection: asyncpg.Connection, pulp2_type: str, batch_size: int
) -> list[Batch]:
    """One batch per ``batch_size`` consecutive units of the type still to migrate."""
    ranges = await content.plan_unit_ranges(connection, pulp2_type, batch_size)
    return [
        Batch(
            key=f"{r.first_id}-{r.last_id}",
            units=r.units,
            args={"first_id": r.first_id, "last_id": r.last_id, "units": r.units},
        )
        for r in ranges
    ]


async def migrate_content(
    connection: asyncpg.Connection,
    migration: Migration,
    content_type: ContentType,
    args: Mapping[str, Any],
) -> BatchResult:
    """Migrate the units of ``args``' id range that are not migrated yet (idempotent).

    ``done`` counts the units of the batch that are migrated once it commits: the ones it
    migrated, plus (when ``args`` has the planned ``units``) the ones an earlier attempt of the
    same batch migrated and committed, so that a re-run records the same counters.
    """
    first_id, last_id = int(args["first_id"]), int(args["last_id"])
    async with connection.transaction():
        units = await content.lock_units(connection, content_type.pulp2_type, first_id, last_id)
        outcome = await content_type.migrate_units(connection, units, migration.settings)
    earlier = max(0, int(args.get("units", len(units))) - len(units))
    log.info(
        "content_batch_migrated",
        step=content_type.step_code,
        first_id=first_id,
        last_id=last_id,
        migrated=outcome.migrated,
        failed=len(outcome.failures),
        earlier=earlier,
    )
    return BatchResult(
        done=outcome.migrated + earlier,
        failures=outcome.failures,
        error=await _corrupt_files_error(connection, migration, outcome.failures),
    )


async def _corrupt_files_error(
    connection: asyncpg.Connection,
    migration: Migration,
    failures: tuple[tuple[str, str], ...],
) -> str | None:
    """Why the batch fails its step: units whose file is missing or corrupt, unless the
    migration skips them (pulp-2to3-migration's ``skip_corrupted``)."""
    corrupt = [(unit, reason) for unit, reason in failures if isinstance(reason, CorruptFile)]
    if not corrupt or await migrations.skips_corrupted(connection, migration.id):
        return None
    named = "; ".join(f"{unit}: {reason}" for unit, reason in corrupt)
    return (
        f"{len(corrupt)} unit(s) have a missing or corrupt file (run with skip_corrupted"
        f" to skip them): {named}"
    )


@functools.cache
def content_step(content_type: ContentType) -> Step:
    """The step of ``content_type`` (one per type and process: its task is registered once)."""

    async def plan_batches(connection: asyncpg.Connection, migration: Migration) -> list[Batch]:
        return await plan_content_batches(
            connection, content_type.pulp2_type, content_type.batch_size
        )

    async def work(
        connection: asyncpg.Connection, migration: Migration, args: Mapping[str, Any]
    ) -> BatchResult:
        return await migrate_content(connection, migration, content_type, args)

    return make_step(content_type.step_code, content_type.description, work, plan_batches)
