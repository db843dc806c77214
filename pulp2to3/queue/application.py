"""The Procrastinate app every process shares (``procrastinate --app=pulp2to3.queue.app``)."""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Awaitable, Callable
from typing import Any, Unpack

import asyncpg
import procrastinate
import structlog

from pulp2to3 import database
from pulp2to3.queue.connector import AsyncpgConnector
from pulp2to3.queue.fencing import attempt_current
from pulp2to3.queue.manager import QueueManager
from pulp2to3.queue.worker import ResilientWorker
from pulp2to3.settings import load_settings
from pulp2to3.store import progress

log = structlog.get_logger(__name__)

# Heartbeats every 2 s; a worker silent for 10 s is dead and its running jobs run again.
HEARTBEAT_INTERVAL = 2.0
STALLED_AFTER = 10.0
# Jobs scheduled for later are seen at the next poll (NOTIFY fires only on insert).
POLL_INTERVAL = 0.5

_database_url: str | None = None


async def database_url() -> str:
    """The URL every connection of this process uses; starts the embedded server if none is set."""
    global _database_url
    if _database_url is None:
        settings = load_settings()
        if settings.database_url:
            _database_url = settings.database_url
        else:
            from pulp2to3 import embedded

            server = embedded.start_embedded_server(settings.data_dir)
            _database_url = await embedded.ensure_database(server)
    return _database_url


async def _make_pool() -> asyncpg.Pool:
    # Made without a connection: a worker (or the API) may start while the database is down.
    return await database.create_pool(await database_url(), min_size=0)


async def _connect() -> asyncpg.Connection:
    return await database.connect(await database_url())


async def _record(
    context: procrastinate.JobContext, write: Callable[[asyncpg.Connection], Awaitable[None]]
) -> None:
    """Record something about a migration's job; a failure to record never fails the job."""
    try:
        async with context.app.connector.pool.acquire() as connection:  # type: ignore[attr-defined]
            await write(connection)
    except (
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
        asyncpg.InternalClientError,
        OSError,
    ) as exc:
        if database.is_unavailable(exc):
            # The outage is logged once by the worker (database_unreachable): no traceback
            # at error level for each job it interrupted.
            log.warning("task_record_failed", error=f"{type(exc).__name__}: {exc}")
        else:
            log.exception("task_record_failed")


async def job_middleware(
    call_next: procrastinate.middleware.AsyncCallNext,
    context: procrastinate.JobContext,
    worker: procrastinate.worker.Worker,
) -> object:
    """Bind the job's ids to its log lines; record its worker, and its error if it fails
    (Procrastinate keeps no exception text)."""
    job = context.job
    assert job.id is not None
    job_id = job.id
    bound: dict[str, object] = {"task_id": job_id, "task_name": job.task_name}
    migration_id = job.task_kwargs.get("migration_id")
    if migration_id is not None:
        bound["migration_id"] = migration_id
    with structlog.contextvars.bound_contextvars(**bound):
        worker_name = context.worker_name or "worker"
        await _record(context, lambda c: progress.task_started(c, job_id, worker_name))
        try:
            return await call_next()
        except (asyncio.CancelledError, procrastinate.exceptions.JobAborted):
            raise
        except Exception as exc:
            description = f"{type(exc).__name__}: {exc}"
            trace = traceback.format_exc()

            async def failed(connection: asyncpg.Connection) -> None:
                # A job taken over by a retry (see queue.fencing) is the retry's to record.
                if await attempt_current(connection, job):
                    await progress.task_failed(connection, job_id, description, trace)

            await _record(context, failed)
            raise


class App(procrastinate.App):
    """Procrastinate's app with a job manager and workers that live through database outages
    (``pulp2to3 worker`` and ``procrastinate --app=pulp2to3.queue.app worker`` alike)."""

    def __init__(self, *, connector: AsyncpgConnector, **options: Any) -> None:
        super().__init__(connector=connector, **options)
        self.job_manager = QueueManager(connector)

    def _worker(self, **options: Unpack[procrastinate.app.WorkerOptions]) -> ResilientWorker:
        return ResilientWorker(self, **{**self.worker_defaults, **options})


app = App(
    connector=AsyncpgConnector(pool_factory=_make_pool, connect=_connect),
    import_paths=[
        "pulp2to3.queue.maintenance",
        "pulp2to3.actors.migration",
        "pulp2to3.actors.coordinator",
        "pulp2to3.actors.registry",
        "pulp2to3.actors.reset",
    ],
    worker_defaults={
        "fetch_job_polling_interval": POLL_INTERVAL,
        "abort_job_polling_interval": POLL_INTERVAL,
        "update_heartbeat_interval": HEARTBEAT_INTERVAL,
        "stalled_worker_timeout": STALLED_AFTER,
        "worker_middleware": [job_middleware],
    },
)
