"""Procrastinate's job manager, made to wait out database outages where a worker needs it to.

A worker's own bookkeeping (registering, recording a job's end, deferring periodic jobs,
polling for aborts) waits until the database is back instead of failing; unregistering at
shutdown gives up (the row is pruned as stalled later). Heartbeats older than the stalled
timeout mean a dead worker only once the server has been up for longer than that timeout:
after a restart every heartbeat is old, the living workers' included.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import structlog
from procrastinate import exceptions, jobs, manager

from pulp2to3.database import is_unavailable, queries
from pulp2to3.queue.connector import AsyncpgConnector

log = structlog.get_logger(__name__)

T = TypeVar("T")


class QueueManager(manager.JobManager):
    @property
    def _connector(self) -> AsyncpgConnector:
        # Read each time: ``App.replace_connector`` swaps the manager's connector.
        assert isinstance(self.connector, AsyncpgConnector)
        return self.connector

    async def _patiently(self, call: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        return await self._connector.outage.wait_out(functools.partial(call, *args, **kwargs))

    async def server_up_longer_than(self, seconds: float) -> bool:
        async with self._connector.pool.acquire() as connection:
            up: bool = await connection.fetchval(queries["server_up_longer_than"], seconds)
        return up

    async def check_connection_async(self) -> bool:
        return await self._patiently(super().check_connection_async)

    async def register_worker(self) -> int:
        return await self._patiently(super().register_worker)

    async def unregister_worker(self, worker_id: int) -> None:
        try:
            await super().unregister_worker(worker_id)
        except exceptions.ConnectorException as exc:
            if not is_unavailable(exc):
                raise
            log.warning("worker_not_unregistered", worker_id=worker_id, error=str(exc))

    async def finish_job_by_id_async(
        self, job_id: int, status: jobs.Status, delete_job: bool
    ) -> None:
        await self._patiently(super().finish_job_by_id_async, job_id, status, delete_job)

    async def retry_job_by_id_async(self, job_id: int, *args: Any, **kwargs: Any) -> None:
        await self._patiently(super().retry_job_by_id_async, job_id, *args, **kwargs)

    async def defer_periodic_job(
        self, job: jobs.Job, periodic_id: str, defer_timestamp: int
    ) -> int | None:
        return await self._patiently(super().defer_periodic_job, job, periodic_id, defer_timestamp)

    async def list_jobs_to_abort_async(self, queue: str | None = None) -> Iterable[int]:
        return await self._patiently(super().list_jobs_to_abort_async, queue)

    async def get_stalled_jobs(
        self,
        nb_seconds: int | None = None,
        queue: str | None = None,
        task_name: str | None = None,
        seconds_since_heartbeat: float = 30,
    ) -> Iterable[jobs.Job]:
        if nb_seconds is None and not await self.server_up_longer_than(seconds_since_heartbeat):
            return []
        return await super().get_stalled_jobs(
            nb_seconds, queue, task_name, seconds_since_heartbeat=seconds_since_heartbeat
        )

    async def prune_stalled_workers(self, seconds_since_heartbeat: float) -> list[int]:
        async def prune() -> list[int]:
            if not await self.server_up_longer_than(seconds_since_heartbeat):
                return []
            return await super(QueueManager, self).prune_stalled_workers(seconds_since_heartbeat)

        return await self._patiently(prune)
