"""``GET /pulp/api/v3/status/``: versions, database reachability, online workers, task counts.

It answers 200 even when the database is unreachable (``connected: false``), as Pulp's does:
it is what an operator looks at when something is wrong.
"""

from __future__ import annotations

import functools
from importlib import metadata
from typing import Any

import asyncpg
import structlog
from aiohttp import web

from pulp2to3.http import state
from pulp2to3.http.rendering import json_response, rfc3339
from pulp2to3.queue.application import STALLED_AFTER
from pulp2to3.store.status import DatabaseStatus, database_status

log = structlog.get_logger(__name__)

# A status request never waits long for a sick database.
ACQUIRE_TIMEOUT = 5.0
QUERY_TIMEOUT = 5.0

# What a broken or unreachable database raises: server errors, client/protocol errors, and
# socket errors (refused, reset, timed out: TimeoutError is an OSError).
_DATABASE_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError)


@functools.cache
def package_versions() -> tuple[tuple[str, str], ...]:
    return tuple((name, metadata.version(name)) for name in ("pulp2to3", "procrastinate"))


async def read_database_status(
    pool: asyncpg.Pool, *, stalled_after: float = STALLED_AFTER
) -> DatabaseStatus | None:
    """One consistent snapshot of what the status shows; ``None`` when the database fails."""
    try:
        async with pool.acquire(timeout=ACQUIRE_TIMEOUT) as connection:
            return await database_status(
                connection, stalled_after=stalled_after, query_timeout=QUERY_TIMEOUT
            )
    except _DATABASE_ERRORS as exc:
        log.warning("status_database_unreachable", error=repr(exc))
        return None


def render_status(
    versions: tuple[tuple[str, str], ...], database: DatabaseStatus | None
) -> dict[str, Any]:
    """The status body; unknown values (database down) are ``null``, lists empty."""
    components: list[tuple[str, str | None]] = [
        *versions,
        ("postgresql", database.server_version if database else None),
    ]
    return {
        "versions": [{"component": name, "version": version} for name, version in components],
        "database_connection": {"connected": database is not None},
        "online_workers": [
            {"name": f"worker-{worker.id}", "last_heartbeat": rfc3339(worker.last_heartbeat)}
            for worker in (database.workers if database else ())
        ],
        "tasks": {
            "queued": database.queued if database else None,
            "running": database.running if database else None,
        },
    }


async def get_status(request: web.Request) -> web.Response:
    database = await read_database_status(request.app[state.POOL])
    return json_response(render_status(package_versions(), database))
