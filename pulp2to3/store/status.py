"""What ``GET /status/`` shows of the database: its version, online workers, job counts."""

from __future__ import annotations

import dataclasses
import datetime

import asyncpg

from pulp2to3.database import queries
from pulp2to3.store.views import snapshot


@dataclasses.dataclass(frozen=True)
class Worker:
    id: int
    last_heartbeat: datetime.datetime


@dataclasses.dataclass(frozen=True)
class DatabaseStatus:
    server_version: str
    workers: tuple[Worker, ...]
    queued: int
    running: int


async def online_workers(
    connection: asyncpg.Connection, stalled_after: float, *, query_timeout: float | None = None
) -> tuple[Worker, ...]:
    """The workers whose heart beat within ``stalled_after`` seconds."""
    rows = await connection.fetch(queries["online_workers"], stalled_after, timeout=query_timeout)
    return tuple(Worker(row["id"], row["last_heartbeat"]) for row in rows)


async def database_status(
    connection: asyncpg.Connection, *, stalled_after: float, query_timeout: float
) -> DatabaseStatus:
    """One consistent snapshot; each query gives up after ``query_timeout`` seconds."""
    async with snapshot(connection):
        version = await connection.fetchval(queries["server_version"], timeout=query_timeout)
        workers = await online_workers(connection, stalled_after, query_timeout=query_timeout)
        counts = await connection.fetchrow(queries["job_counts"], timeout=query_timeout)
    return DatabaseStatus(
        server_version=version,
        workers=workers,
        queued=counts["queued"],
        running=counts["running"],
    )
