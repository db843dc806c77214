-- Named queries behind GET /metrics: every figure comes from the database, so that the workers
-- of every machine are counted.

-- metrics_reports --
-- Every migration's status
SELECT id, status FROM migration

-- metrics_steps --
-- Every step's counters and how long it ran (so far, while it runs)
WITH progress AS (
    SELECT migration_id, step_code, sum(done)::bigint AS done, sum(failed)::bigint AS failed
      FROM migration_batch_progress
     GROUP BY migration_id, step_code
)
SELECT s.migration_id, s.code, s.total, COALESCE(p.done, 0) AS done,
       COALESCE(p.failed, 0) AS failed,
       extract(epoch FROM COALESCE(s.finished_at, now()) - s.started_at)::float8 AS seconds
  FROM migration_step s
  LEFT JOIN progress p ON p.migration_id = s.migration_id AND p.step_code = s.code

-- metrics_task_states --
-- How many of each migration's tasks are in each state
SELECT t.migration_id, pulp2to3_task_state(j.status::text, j.abort_requested) AS state,
       count(*) AS tasks
  FROM migration_task t
  JOIN procrastinate_jobs j ON j.id = t.job_id
 GROUP BY 1, 2

-- metrics_queue_depth --
-- Jobs waiting to be taken, per queue
SELECT queue_name, count(*) AS jobs
  FROM procrastinate_jobs
 WHERE status = 'todo'
 GROUP BY queue_name

-- metrics_batch_durations --
-- Per step, how long its finished batch jobs ran (last start to finish): how many, the sum of
-- seconds, and how many took at most each of the bounds $1 (ascending)
WITH durations AS (
    SELECT t.step_code,
           extract(epoch FROM max(e.at) FILTER (WHERE e.type IN ('succeeded', 'failed'))
                              - max(e.at) FILTER (WHERE e.type = 'started'))::float8 AS seconds
      FROM migration_task t
      JOIN procrastinate_events e ON e.job_id = t.job_id
     WHERE t.batch_key IS NOT NULL
     GROUP BY t.job_id, t.step_code
), finished AS (
    SELECT step_code, seconds FROM durations WHERE seconds IS NOT NULL
)
SELECT f.step_code, count(*) AS count, sum(f.seconds) AS sum,
       ARRAY(SELECT count(*) FILTER (WHERE g.seconds <= b.le)
               FROM unnest($1::float8[]) WITH ORDINALITY AS b(le, i)
               CROSS JOIN finished g
              WHERE g.step_code = f.step_code
              GROUP BY b.i ORDER BY b.i) AS cumulative
  FROM finished f
 GROUP BY f.step_code
