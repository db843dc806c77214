"""The reset task: remove what the plan's plugins migrated and their Pulp 2 mapping, so that the
next run of any plan starts from nothing (pulp-2to3-migration's ``reset``)."""

from __future__ import annotations

import uuid

import asyncpg
import procrastinate
import structlog

from pulp2to3.actors.steps import current_settings
from pulp2to3.coordination import MigrationStatus
from pulp2to3.plan import parse_plan
from pulp2to3.plugins import Plugin
from pulp2to3.plugins.registry import PLUGINS
from pulp2to3.queue import app
from pulp2to3.queue.resets import RESET_ACTOR
from pulp2to3.store import migrations, resets

log = structlog.get_logger(__name__)


def _types(plugin: Plugin) -> tuple[resets.Pulp2Types, resets.Pulp3Types]:
    content_types = plugin.content_types
    pulp2 = resets.Pulp2Types(
        repository=plugin.pulp2_repo_type,
        content=tuple(t.pulp2_type for t in content_types) + plugin.staged_collections,
    )
    pulp3 = resets.Pulp3Types(
        tuple(t.pulp_type for t in content_types),
        plugin.pulp3.repository,
        plugin.pulp3.remote,
        plugin.pulp3.publication,
        plugin.pulp3.distribution,
    )
    return pulp2, pulp3


async def _remove(connection: asyncpg.Connection, reset_id: uuid.UUID) -> list[str] | None:
    """Everything in one transaction under the reset's row lock (as a cancel takes it), so the
    reset goes from waiting to completed at once; the files of the artifacts removed, or None
    when the reset was canceled before it started."""
    async with connection.transaction():
        locked = await migrations.lock_migration(connection, reset_id)
        if locked is None or locked.status is not MigrationStatus.WAITING:
            return None
        for plugin in parse_plan(locked.plan).plugins:
            await resets.remove_migrated(connection, *_types(PLUGINS[plugin.type]))
        files = await resets.remove_unreferenced_artifacts(connection)
        await migrations.finish_migration(connection, reset_id, MigrationStatus.COMPLETED)
    return files


async def _reset(connection: asyncpg.Connection, reset_id: uuid.UUID) -> list[str] | None:
    try:
        return await _remove(connection, reset_id)
    except Exception as exc:
        await migrations.finish_migration(
            connection, reset_id, MigrationStatus.FAILED, f"The reset failed: {exc}"
        )
        raise


@app.task(name=RESET_ACTOR, pass_context=True)
async def reset(context: procrastinate.JobContext, migration_id: str) -> str:
    pool: asyncpg.Pool = context.app.connector.pool  # type: ignore[attr-defined]
    async with pool.acquire() as connection:
        files = await _reset(connection, uuid.UUID(migration_id))
    if files is None:
        return "nothing to do"
    media_root = current_settings().media_root
    for file in files:
        (media_root / file).unlink(missing_ok=True)
    log.info("plan_reset", artifacts_removed=len(files))
    return "reset"
