"""Periodic upkeep of the queue that Procrastinate leaves to its users."""

from __future__ import annotations

import structlog
from procrastinate import exceptions, jobs

from pulp2to3.queue.application import STALLED_AFTER, app

log = structlog.get_logger(__name__)


@app.periodic(cron="* * * * * */5")  # every 5 seconds (croniter's sixth field is seconds)
@app.task(queueing_lock="retry_stalled_jobs")
async def retry_stalled_jobs(timestamp: int) -> int:
    """Run again the jobs of workers whose heartbeat stopped (killed, or cut off); right after a
    database restart nobody counts as stalled yet (see ``QueueManager``)."""
    stalled = list(await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER))
    for job in stalled:
        try:
            await app.job_manager.retry_job(job)
        except exceptions.UniqueViolation:
            # A job that re-queues itself (the coordinator) already has its successor queued:
            # running it again would collide with it, and the successor does its work.
            await app.job_manager.finish_job(job, status=jobs.Status.FAILED, delete_job=False)
            log.warning("stalled_job_superseded", job_id=job.id, task_name=job.task_name)
            continue
        log.warning(
            "stalled_job_retried", job_id=job.id, task_name=job.task_name, worker_id=job.worker_id
        )
    await app.job_manager.prune_stalled_workers(STALLED_AFTER)
    return len(stalled)
