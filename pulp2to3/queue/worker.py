"""A Procrastinate worker that lives through database outages.

Procrastinate's worker stops when a side task fails and loses a job's end when it cannot write
it. This one waits the outage out (its job manager is patient, see ``queue.manager``), keeps
polling for jobs, puts a job that failed only for want of the database back in the queue
without counting an attempt, and registers again if it was pruned as stalled meanwhile. A job
whose attempt was taken over by a retry while the worker was cut off (see ``queue.fencing``) has
its end recorded by the worker that runs it now, not by this one.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import asyncpg
import procrastinate
import structlog
from procrastinate import exceptions, job_context, jobs, retry, worker

from pulp2to3.database import is_unavailable, queries
from pulp2to3.queue.connector import AsyncpgConnector
from pulp2to3.queue.fencing import attempt_current
from pulp2to3.store.migrations import wake_coordinator

log = structlog.get_logger(__name__)


class ResilientWorker(worker.Worker):
    def __init__(self, app: procrastinate.App, **options: Any) -> None:
        super().__init__(app, **options)
        self.worker_middleware = [self._note_interruption, *self.worker_middleware]
        assert isinstance(app.connector, AsyncpgConnector)
        self._connector = app.connector
        self._interrupted: set[int] = set()
        self._registering = asyncio.Lock()

    async def _note_interruption(
        self,
        call_next: procrastinate.middleware.AsyncCallNext,
        context: procrastinate.JobContext,
        _worker: worker.Worker,
    ) -> object:
        try:
            return await call_next()
        except Exception as exc:
            if is_unavailable(exc) and context.job.id is not None:
                self._interrupted.add(context.job.id)
            raise

    async def _persist_job_status(
        self,
        job: jobs.Job,
        status: jobs.Status,
        retry_decision: retry.RetryDecision | None,
        context: job_context.JobContext,
        job_result: job_context.JobResult | None,
    ) -> None:
        assert job.id is not None
        if not await self._connector.outage.wait_out(functools.partial(self._current, job)):
            self._interrupted.discard(job.id)
            self._job_ids_to_abort.pop(job.id, None)
            log.warning(
                "job_taken_over", job_id=job.id, task_name=job.task_name, attempt=job.attempts
            )
            return
        if job.id in self._interrupted:
            self._interrupted.discard(job.id)
            if status is jobs.Status.FAILED and await self._connector.outage.wait_out(
                functools.partial(self._requeue, job.id)
            ):
                self._job_ids_to_abort.pop(job.id, None)
                log.warning("job_interrupted_requeued", job_id=job.id, task_name=job.task_name)
                return
        await super()._persist_job_status(job, status, retry_decision, context, job_result)
        migration_id = job.task_kwargs.get("migration_id")
        if retry_decision is None and isinstance(migration_id, str):
            await self._wake_coordinator(job.id, migration_id)

    async def _wake_coordinator(self, job_id: int, migration_id: str) -> None:
        """When this job was the last of its step, the coordinator polls now, not at its next
        scheduled poll (which stays the fallback: this is only an early wake-up)."""
        try:
            async with self._connector.pool.acquire() as connection:
                await wake_coordinator(connection, job_id, migration_id)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            log.warning("coordinator_not_woken", job_id=job_id, error=str(exc))

    async def _current(self, job: jobs.Job) -> bool:
        async with self._connector.pool.acquire() as connection:
            return await attempt_current(connection, job)

    async def _requeue(self, job_id: int | None) -> bool:
        """Put the job back in the queue, its attempts unchanged; False when that cannot be:
        an abort was asked for, or a successor holds its queueing lock (the coordinator's)."""
        try:
            async with self._connector.pool.acquire() as connection:
                requeued = await connection.fetchval(queries["requeue_interrupted_job"], job_id)
        except asyncpg.UniqueViolationError:
            return False
        return requeued is not None

    async def _fetch_and_process_jobs(self) -> None:
        # The run loop calls this again at the next poll, which is the retry while the database
        # is away (the stop request is heard meanwhile).
        try:
            await super()._fetch_and_process_jobs()  # type: ignore[no-untyped-call]
        except exceptions.ConnectorException as exc:
            if isinstance(exc.__cause__, asyncpg.ForeignKeyViolationError):
                await self._register_again(self.worker_id)
            elif is_unavailable(exc):
                self._connector.outage.lost(exc)
            else:
                raise

    async def _update_heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.update_heartbeat_interval)
            worker_id = self.worker_id
            beat = functools.partial(self._beat, worker_id)
            if await self._connector.outage.wait_out(beat) is None:
                await self._register_again(worker_id)

    async def _beat(self, worker_id: int | None) -> int | None:
        async with self._connector.pool.acquire() as connection:
            beat: int | None = await connection.fetchval(queries["worker_heartbeat"], worker_id)
        return beat

    async def _register_again(self, pruned_id: int | None) -> None:
        """Our row was pruned as stalled: take a new one, and take back our running jobs that
        were not retried meanwhile (the others run again elsewhere)."""
        async with self._registering:
            if self.worker_id != pruned_id:
                return  # done already by the heartbeat or the fetch loop
            worker_id = await self.app.job_manager.register_worker()
            running = [context.job.id for context in self._running_jobs.values()]

            async def reclaim() -> list[asyncpg.Record]:
                async with self._connector.pool.acquire() as connection:
                    rows: list[asyncpg.Record] = await connection.fetch(
                        queries["reclaim_running_jobs"], worker_id, running
                    )
                return rows

            reclaimed = await self._connector.outage.wait_out(reclaim)
            self.worker_id = worker_id
            log.warning(
                "worker_registered_again",
                pruned_id=pruned_id,
                worker_id=worker_id,
                reclaimed=[row["id"] for row in reclaimed],
            )
