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
           EXISTS (SELECT 1 FROM migration_report r
                    WHERE r.plan_id = p.id
                      AND r.status IN ('waiting', 'running', 'pausing', 'paused')) AS busy
      FROM migration_plan p
     WHERE p.id = $1
       FOR UPDATE
), deleted AS (
    DELETE FROM migration_plan p USING target WHERE p.id = target.id AND NOT target.busy RETURNING p.id
)
SELECT (SELECT count(*) FROM target) AS found, (SELECT count(*) FROM deleted) AS deleted

-- count_reports --
-- How many reports, optionally of one status
SELECT count(*) FROM migration_report WHERE ($1::text IS NULL OR status = $1)

-- page_reports --
-- The ids of a page of reports, optionally of one status
SELECT id
  FROM migration_report
 WHERE ($1::text IS NULL OR status = $1)
 ORDER BY created_at, id
 LIMIT $2 OFFSET $3

-- get_reports --
-- Reports by id ($1)
SELECT id, created_at, plan_id, task_job_id, status, started_at, finished_at, error
  FROM migration_report
 WHERE id = ANY($1::uuid[])
 ORDER BY created_at, id

-- unfinished_report --
-- The id of the unfinished migration report, if there is one (there is at most one)
SELECT id FROM migration_report
 WHERE status IN ('waiting', 'running', 'pausing', 'paused')

-- report_steps --
-- The steps of some reports with their counters and their tasks' states
WITH progress AS (
    SELECT report_id, step_code, sum(done)::bigint AS done, sum(failed)::bigint AS failed
      FROM migration_batch_progress
     WHERE report_id = ANY($1::uuid[])
     GROUP BY report_id, step_code
), tasks AS (
    SELECT t.report_id, t.step_code,
           array_agg(t.job_id ORDER BY t.job_id) AS job_ids,
           count(*) FILTER (WHERE j.status = 'todo') AS waiting,
           count(*) FILTER (WHERE j.status = 'doing') AS running,
           count(*) FILTER (WHERE j.status = 'succeeded') AS completed,
           count(*) FILTER (WHERE j.status = 'failed') AS failed,
           count(*) FILTER (WHERE j.status IN ('cancelled', 'aborted')) AS canceled
      FROM migration_task t
      JOIN procrastinate_jobs j ON j.id = t.job_id
     WHERE t.report_id = ANY($1::uuid[]) AND t.step_code IS NOT NULL
     GROUP BY t.report_id, t.step_code
)
SELECT s.report_id, s.code, s.description, s.status, s.needs, s.total, s.started_at,
       s.finished_at, COALESCE(p.done, 0) AS done, COALESCE(p.failed, 0) AS failed,
       COALESCE(t.job_ids, '{}') AS job_ids,
       COALESCE(t.waiting, 0) AS tasks_waiting, COALESCE(t.running, 0) AS tasks_running,
       COALESCE(t.completed, 0) AS tasks_completed, COALESCE(t.failed, 0) AS tasks_failed,
       COALESCE(t.canceled, 0) AS tasks_canceled
  FROM migration_step s
  LEFT JOIN progress p ON p.report_id = s.report_id AND p.step_code = s.code
  LEFT JOIN tasks t ON t.report_id = s.report_id AND t.step_code = s.code
 WHERE s.report_id = ANY($1::uuid[])
 ORDER BY s.report_id, s.position

-- count_tasks --
-- How many tasks match the filters (report, step, state)
SELECT count(*)
  FROM migration_task t
  JOIN procrastinate_jobs j ON j.id = t.job_id
 WHERE ($1::uuid IS NULL OR t.report_id = $1)
   AND ($2::text IS NULL OR t.step_code = $2)
   AND ($3::text IS NULL OR pulp2to3_task_state(j.status::text, j.abort_requested) = $3)

-- page_tasks --
-- The job ids of a page of tasks matching the filters (report, step, state)
SELECT t.job_id
  FROM migration_task t
  JOIN procrastinate_jobs j ON j.id = t.job_id
 WHERE ($1::uuid IS NULL OR t.report_id = $1)
   AND ($2::text IS NULL OR t.step_code = $2)
   AND ($3::text IS NULL OR pulp2to3_task_state(j.status::text, j.abort_requested) = $3)
 ORDER BY t.job_id
 LIMIT $4 OFFSET $5

-- get_tasks --
-- Tasks by job id ($1), with their times
SELECT t.job_id, t.report_id, t.step_code, t.worker_name, t.error_description,
       t.error_traceback, t.created_resources, t.created_at,
       j.task_name, pulp2to3_task_state(j.status::text, j.abort_requested) AS state,
       ev.started_at, ev.finished_at
  FROM migration_task t
  JOIN procrastinate_jobs j ON j.id = t.job_id
  LEFT JOIN LATERAL (
        SELECT max(e.at) FILTER (WHERE e.type = 'started') AS started_at,
               max(e.at) FILTER (WHERE e.type IN ('succeeded', 'failed', 'cancelled', 'aborted'))
                   AS finished_at
          FROM procrastinate_events e
         WHERE e.job_id = t.job_id
       ) ev ON true
 WHERE t.job_id = ANY($1::bigint[])
 ORDER BY t.job_id

-- distribution_base_paths --
-- Where the migrated distributions are served, for the one-shot runner to print
SELECT base_path FROM distribution ORDER BY base_path

-- report_unit_failures --
-- The units each step of some reports could not migrate, by name (the first 100 per step)
SELECT report_id, step_code, pulp2_id, reason
  FROM (SELECT f.*, row_number() OVER (PARTITION BY report_id, step_code ORDER BY pulp2_id) AS n
          FROM migration_unit_failure f
         WHERE report_id = ANY($1::uuid[])) AS numbered
 WHERE n <= 100
 ORDER BY report_id, step_code, pulp2_id
