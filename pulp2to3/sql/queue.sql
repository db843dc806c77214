-- Named queries of the queue's own upkeep: worker rows and jobs through a database outage.
-- File format: a `-- name --` line, `-- description` lines, then one statement.

-- server_up_longer_than --
-- Whether the server has been up for longer than $1 seconds (after a restart every heartbeat is
-- old, and living workers need that long to send a fresh one)
SELECT now() - pg_postmaster_start_time() > make_interval(secs => $1)

-- worker_heartbeat --
-- A worker's heartbeat; no row when the worker was pruned as stalled
UPDATE procrastinate_workers SET last_heartbeat = now() WHERE id = $1 RETURNING id

-- reclaim_running_jobs --
-- A worker registered again takes back its running jobs that nobody retried meanwhile
UPDATE procrastinate_jobs SET worker_id = $1
 WHERE id = ANY($2::bigint[]) AND status = 'doing' AND worker_id IS NULL
RETURNING id

-- requeue_interrupted_job --
-- A job that failed only because the database went away runs again, its attempts unchanged
-- (an abort asked for meanwhile is left to the normal path); no row when it is not running
UPDATE procrastinate_jobs SET status = 'todo'
 WHERE id = $1 AND status = 'doing' AND NOT abort_requested
RETURNING id

-- job_attempt_current --
-- Whether a job still runs the attempt its worker fetched: still 'doing' and its attempts
-- unchanged (every retry, a stalled worker's job's too, counts one more, and only its own worker
-- puts a job back without counting); the row stays locked until the caller's transaction ends,
-- so no retry slips in between the check and the commit
SELECT 1 FROM procrastinate_jobs WHERE id = $1 AND status = 'doing' AND attempts = $2 FOR SHARE
