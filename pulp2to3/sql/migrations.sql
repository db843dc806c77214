-- Named queries behind the plans, reports and tasks endpoints.

-- count_plans --
-- How many plans there are
SELECT count(*) FROM migration_plan

-- page_plans --
-- The ids of a page of plans, oldest first
SELECT id FROM migration_plan ORDER BY created_at, id LIMIT $1 OFFSET $2

-- get_plans --
-- Plans by id ($1)
SELECT id, created_at, plan FROM migration_plan WHERE id = ANY($1::uuid[]) ORDER BY created_at, id

-- delete_plan --
-- Delete a plan (and its finished reports) unless a migration of it is unfinished
WITH target AS (
    SELECT p.id,
           EXISTS (SELECT 1 FROM migration r
                    WHERE r.plan_id = p.id
                      AND r.status IN ('waiting', 'running', 'pausing', 'paused')) AS busy
      FROM migration_plan p
     WHERE p.id = $1
       FOR UPDATE
), deleted AS (
    DELETE FROM migration_plan p USING target WHERE p.id = target.id AND NOT target.busy RETURNING p.id
)
SELECT (SELECT count(*) FROM target) AS found, (SELECT count(*) FROM deleted) AS deleted

-- count_migrations --
-- How many reports, optionally of one status
SELECT count(*) FROM migration WHERE ($1::text IS NULL OR status = $1)

-- page_migrations --
-- The ids of a page of reports, optionally of one status
SELECT id
  FROM migration
 WHERE ($1::text IS NULL OR status = $1)
 ORDER BY created_at, id
 LIMIT $2 OFFSET $3

-- get_migrations --
-- Reports by id ($1)
SELECT id, created_at, plan_id, task_job_id, status, started_at, finished_at, error,
       validate, dry_run, skip_corrupted, kind
  FROM migration
 WHERE id = ANY($1::uuid[])
 ORDER BY created_at, id

-- unfinished_migration --
-- The id of the unfinished migration report, if there is one (there is at most one)
SELECT id FROM migration
 WHERE status IN ('waiting', 'running', 'pausing', 'paused')

-- migration_steps --
-- The steps of some reports with their counters and their tasks' states
WITH progress AS (
    SELECT migration_id, step_code, sum(done)::bigint AS done, sum(failed)::bigint AS failed
      FROM migration_batch_progress
     WHERE migration_id = ANY($1::uuid[])
     GROUP BY migration_id, step_code
), tasks AS (
    SELECT t.migration_id, t.step_code,
           array_agg(t.job_id ORDER BY t.job_id) AS job_ids,
           count(*) FILTER (WHERE j.status = 'todo') AS waiting,
           count(*) FILTER (WHERE j.status = 'doing') AS running,
           count(*) FILTER (WHERE j.status = 'succeeded') AS completed,
           count(*) FILTER (WHERE j.status = 'failed') AS failed,
           count(*) FILTER (WHERE j.status IN ('cancelled', 'aborted')) AS canceled
      FROM migration_task t
      JOIN procrastinate_jobs j ON j.id = t.job_id
     WHERE t.migration_id = ANY($1::uuid[]) AND t.step_code IS NOT NULL
     GROUP BY t.migration_id, t.step_code
)
SELECT s.migration_id, s.code, s.description, s.status, s.needs, s.total, s.started_at,
       s.finished_at, COALESCE(p.done, 0) AS done, COALESCE(p.failed, 0) AS failed,
       COALESCE(t.job_ids, '{}') AS job_ids,
       COALESCE(t.waiting, 0) AS tasks_waiting, COALESCE(t.running, 0) AS tasks_running,
       COALESCE(t.completed, 0) AS tasks_completed, COALESCE(t.failed, 0) AS tasks_failed,
       COALESCE(t.canceled, 0) AS tasks_canceled
  FROM migration_step s
  LEFT JOIN progress p ON p.migration_id = s.migration_id AND p.step_code = s.code
  LEFT JOIN tasks t ON t.migration_id = s.migration_id AND t.step_code = s.code
 WHERE s.migration_id = ANY($1::uuid[])
 ORDER BY s.migration_id, s.position

-- task_rows --
-- Every task, with its times, its migration's plan and its batch's progress: what the tasks
-- list filters and orders (store/tasks.py puts it in a FROM)
SELECT t.job_id, t.migration_id, t.step_code, t.worker_name, t.error_description,
       t.error_traceback, t.created_resources, t.created_at,
       j.task_name, pulp2to3_task_state(j.status::text, j.abort_requested) AS state,
       ev.started_at, ev.finished_at,
       GREATEST(t.created_at, ev.last_at) AS last_updated_at,
       -- Ready to run: queued and not held back by a schedule (a pause, a retry's wait).
       CASE WHEN j.scheduled_at IS NULL OR j.scheduled_at <= now()
            THEN GREATEST(t.created_at, j.scheduled_at) END AS unblocked_at,
       m.plan_id, s.description AS step_description,
       (j.args->'args'->>'units')::bigint AS batch_total,
       p.done AS batch_done, p.failed AS batch_failed
  FROM migration_task t
  JOIN procrastinate_jobs j ON j.id = t.job_id
  JOIN migration m ON m.id = t.migration_id
  LEFT JOIN migration_step s ON s.migration_id = t.migration_id AND s.code = t.step_code
  LEFT JOIN migration_batch_progress p
         ON p.migration_id = t.migration_id AND p.step_code = t.step_code
        AND p.batch_key = t.batch_key
  LEFT JOIN LATERAL (
        SELECT max(e.at) FILTER (WHERE e.type = 'started') AS started_at,
               max(e.at) FILTER (WHERE e.type IN ('succeeded', 'failed', 'cancelled', 'aborted'))
                   AS finished_at,
               max(e.at) AS last_at
          FROM procrastinate_events e
         -- A pause schedules jobs at 'infinity' (core.sql), and Procrastinate records that 'scheduled'
         -- event at that time, which has no RFC 3339 form.
         WHERE e.job_id = t.job_id AND isfinite(e.at)
       ) ev ON true

-- distribution_base_paths --
-- Where the migrated distributions are served, for the one-shot runner to print
SELECT base_path FROM distribution ORDER BY base_path

-- migration_unit_failures --
-- The units each step of some reports could not migrate, by name (the first 100 per step)
SELECT migration_id, step_code, pulp2_id, reason
  FROM (SELECT f.*, row_number() OVER (PARTITION BY migration_id, step_code ORDER BY pulp2_id) AS n
          FROM migration_unit_failure f
         WHERE migration_id = ANY($1::uuid[])) AS numbered
 WHERE n <= 100
 ORDER BY migration_id, step_code, pulp2_id

-- report_pauses --
-- When the unfinished ones of some reports ($1) were paused and resumed (epoch seconds), and
-- the database's time: the clock of every sample
SELECT r.id AS migration_id, extract(epoch FROM now())::float8 AS now,
       extract(epoch FROM p.paused_at)::float8 AS paused_at,
       extract(epoch FROM p.resumed_at)::float8 AS resumed_at
  FROM migration r
  LEFT JOIN migration_pause p ON p.migration_id = r.id
 WHERE r.id = ANY($1::uuid[]) AND r.status IN ('running', 'pausing', 'paused')

-- report_recent_batches --
-- When the recent batches of the unfinished ones of some reports ($1) finished and how many
-- units each counted: those of the last $2 seconds, and as much further back as the reports
-- were paused
WITH unfinished AS (
    SELECT r.id,
           COALESCE(sum(COALESCE(p.resumed_at, now()) - p.paused_at), interval '0') AS paused
      FROM migration r
      LEFT JOIN migration_pause p ON p.migration_id = r.id
     WHERE r.id = ANY($1::uuid[]) AND r.status IN ('running', 'pausing', 'paused')
     GROUP BY r.id
)
SELECT b.migration_id, b.step_code, extract(epoch FROM b.recorded_at)::float8 AS at,
       b.done + b.failed AS units
  FROM migration_batch_progress b
  JOIN unfinished u ON u.id = b.migration_id
 WHERE b.recorded_at >= now() - make_interval(secs => $2) - u.paused

-- wake_coordinator --
-- The job $1 of a migration's step ended: when no task of that step is left to run, the queued
-- coordinator job (queueing lock $2) runs now instead of at its scheduled poll, before the jobs
-- queued earlier (priority 1: workers take jobs by priority, then age; a step ending beside
-- another step's queued batches is closed at once, not once those are all taken), and the
-- workers hear of it as of a new job. Only a woken poll goes first: every poll first, on a
-- worker whose polls take longer than their interval (a slow link), would leave no turn to the
-- batches. No row when the step has work left, no coordinator waits (one a pause holds stays
-- held), or it was woken already
UPDATE procrastinate_jobs AS j
   SET scheduled_at = least(j.scheduled_at, now()), priority = 1
  FROM migration_task AS ended
 WHERE ended.job_id = $1 AND ended.step_code IS NOT NULL
   AND j.queueing_lock = $2 AND j.status = 'todo'
   AND (j.scheduled_at > now() OR j.priority < 1)
   AND j.scheduled_at <> 'infinity'
   AND NOT EXISTS (SELECT FROM migration_task AS t
                     JOIN procrastinate_jobs AS other ON other.id = t.job_id
                    WHERE t.migration_id = ended.migration_id AND t.step_code = ended.step_code
                      AND other.status IN ('todo', 'doing'))
RETURNING j.id,
          pg_notify('procrastinate_queue_v1#' || j.queue_name,
                    json_build_object('type', 'job_inserted', 'job_id', j.id)::text),
          pg_notify('procrastinate_any_queue_v1',
                    json_build_object('type', 'job_inserted', 'job_id', j.id)::text)
