-- Named queries of pulp2to3: the migration's own state and the queue (asyncpg $n placeholders).
-- File format: a `-- name --` line, `-- description` lines, then one statement.

-- init_db_lock --
-- Serialize concurrent `init-db` runs (transaction-level advisory lock)
SELECT pg_advisory_xact_lock(hashtext('pulp2to3.init_db'))

-- procrastinate_installed --
-- Whether Procrastinate's schema is already installed
SELECT to_regclass('procrastinate_jobs') IS NOT NULL AS installed

-- schema_state --
-- Whether pulp2to3's schema is installed, and whether it records its migrations (a schema
-- installed before migrations existed does not)
SELECT to_regclass('migration_plan') IS NOT NULL AS installed,
       to_regclass('schema_migration') IS NOT NULL AS tracked

-- schema_migrations --
-- The migrations the database has had
SELECT name, applied_at FROM schema_migration ORDER BY name

-- record_schema_migrations --
-- Record migrations ($1 names) as applied
INSERT INTO schema_migration (name) SELECT unnest($1::text[])

-- cancel_jobs --
-- Cancel queued jobs and ask running ones to abort, all in one statement; returns the ids acted on
SELECT acted.id
  FROM unnest($1::bigint[]) AS job(id)
 CROSS JOIN LATERAL (SELECT procrastinate_cancel_job_v1(job.id, true, false) AS id) AS acted
 WHERE acted.id IS NOT NULL

-- hold_queued_jobs --
-- Pause: the queued tasks of a migration are put off for ever (workers fetch only jobs that are
-- due), so they keep their ids, arguments and place in the report; returns the ids held
UPDATE procrastinate_jobs AS j
   SET scheduled_at = 'infinity'
  FROM migration_task AS t
 WHERE t.migration_id = $1 AND j.id = t.job_id AND j.status = 'todo'
   AND j.scheduled_at IS DISTINCT FROM 'infinity'
RETURNING j.id

-- release_held_jobs --
-- Resume: the held tasks are due again, and idle workers are told at once, as on an insert
WITH released AS (
    UPDATE procrastinate_jobs AS j
       SET scheduled_at = NULL
      FROM migration_task AS t
     WHERE t.migration_id = $1 AND j.id = t.job_id AND j.status = 'todo'
       AND j.scheduled_at = 'infinity'
    RETURNING j.id, j.queue_name
)
SELECT id,
       pg_notify('procrastinate_queue_v1#' || queue_name,
                 json_build_object('type', 'job_inserted', 'job_id', id)::text),
       pg_notify('procrastinate_any_queue_v1',
                 json_build_object('type', 'job_inserted', 'job_id', id)::text)
  FROM released

-- online_workers --
-- Workers whose heartbeat is recent enough to count them alive
SELECT id, last_heartbeat
  FROM procrastinate_workers
 WHERE last_heartbeat >= now() - make_interval(secs => $1)
 ORDER BY id

-- job_counts --
-- Queued and running job counts
SELECT count(*) FILTER (WHERE status = 'todo') AS queued,
       count(*) FILTER (WHERE status = 'doing') AS running
  FROM procrastinate_jobs

-- server_version --
-- The PostgreSQL server's version, as `SHOW server_version` gives it
SELECT current_setting('server_version') AS server_version

-- insert_plan --
-- Store a validated migration plan
INSERT INTO migration_plan (plan) VALUES ($1::jsonb) RETURNING id, created_at, plan

-- insert_migration --
-- A new migration, waiting (the unique partial index refuses a second unfinished one)
INSERT INTO migration (plan_id, validate, dry_run, skip_corrupted)
VALUES ($1, $2, $3, $4)
RETURNING id

-- register_task --
-- Tie a queued job to its migration (and step and batch, for step tasks)
INSERT INTO migration_task (job_id, migration_id, step_code, batch_key)
SELECT job_id, $2, $3, batch_key
  FROM unnest($1::bigint[], $4::text[]) AS t(job_id, batch_key)

-- set_migration_task --
-- Record the migration task's job id on its migration
UPDATE migration SET task_job_id = $2 WHERE id = $1

-- migration_skips_corrupted --
-- Whether a migration skips units whose downloaded file is missing or corrupt
SELECT skip_corrupted FROM migration WHERE id = $1

-- lock_migration --
-- Read a migration and hold its row lock until the transaction ends (coordinator, cancel)
SELECT r.id, r.status, r.validate, r.dry_run, r.expanded_plan, p.plan
  FROM migration r
  JOIN migration_plan p ON p.id = r.plan_id
 WHERE r.id = $1
   FOR UPDATE OF r

-- insert_steps --
-- Write the ordered steps of a migration and what each needs (again: nothing changes)
INSERT INTO migration_step (migration_id, position, code, description, needs)
SELECT $1, position, code, description, needs
  FROM ROWS FROM (jsonb_to_recordset($2::jsonb) AS (code text, description text, needs text[]))
       WITH ORDINALITY AS s(code, description, needs, position)
    ON CONFLICT DO NOTHING

-- start_migration --
-- The migration task planned the migration: it is running
UPDATE migration
   SET status = 'running', started_at = now(), expanded_plan = $2::jsonb
 WHERE id = $1

-- set_migration_status --
-- An unfinished migration changes state (pausing, paused, running again); the time it spends
-- paused (from paused to running again) is recorded for rates
WITH changed AS (
    UPDATE migration SET status = $2 WHERE id = $1 RETURNING id
), paused AS (
    INSERT INTO migration_pause (migration_id, paused_at)
    SELECT id, now() FROM changed
     WHERE $2 = 'paused'
       AND NOT EXISTS (SELECT 1 FROM migration_pause
                        WHERE migration_id = $1 AND resumed_at IS NULL)
)
UPDATE migration_pause SET resumed_at = now()
 WHERE migration_id = $1 AND resumed_at IS NULL AND $2 = 'running'
   AND EXISTS (SELECT 1 FROM changed)

-- finish_migration --
-- Close a migration (completed, failed or canceled) with an optional error
UPDATE migration
   SET status = $2, finished_at = now(), error = COALESCE($3, error),
       started_at = COALESCE(started_at, now())
 WHERE id = $1

-- step_task_states --
-- Every step of a migration with its tasks' job states, for the coordinator
SELECT s.code, s.status, s.needs,
       pulp2to3_task_state(j.status::text, j.abort_requested) AS task_state, count(j.id) AS jobs
  FROM migration_step s
  LEFT JOIN migration_task t ON t.migration_id = s.migration_id AND t.step_code = s.code
  LEFT JOIN procrastinate_jobs j ON j.id = t.job_id
 WHERE s.migration_id = $1
 GROUP BY s.position, s.code, s.status, s.needs, 4
 ORDER BY s.position

-- start_step --
-- A step starts: its total is known now
UPDATE migration_step
   SET status = 'running', started_at = now(), total = $3
 WHERE migration_id = $1 AND code = $2

-- close_step --
-- A step ends (completed, failed, skipped)
UPDATE migration_step
   SET status = $3, finished_at = now()
 WHERE migration_id = $1 AND code = $2

-- cancel_unfinished_steps --
-- A canceled migration cancels its waiting and running steps
UPDATE migration_step
   SET status = 'canceled', finished_at = now()
 WHERE migration_id = $1 AND status IN ('waiting', 'running')

-- unfinished_jobs_of_migration --
-- Every queued or running job of a migration: its tasks and its coordinator
SELECT j.id
  FROM migration_task t
  JOIN procrastinate_jobs j ON j.id = t.job_id
 WHERE t.migration_id = $1 AND j.status IN ('todo', 'doing')
UNION
SELECT j.id
  FROM procrastinate_jobs j
 WHERE (j.queueing_lock = $2 AND j.status = 'todo') OR (j.lock = $2 AND j.status = 'doing')

-- forget_finished_coordinator_jobs --
-- The coordinator re-queues itself at every poll (dispatch.POLL_EVERY): keep only its unfinished
-- jobs
DELETE FROM procrastinate_jobs WHERE lock = $1 AND status IN ('succeeded', 'failed')

-- record_batch_progress --
-- A batch's counters, in the transaction of its work; a retry overwrites, never adds
INSERT INTO migration_batch_progress (migration_id, step_code, batch_key, done, failed)
VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (migration_id, step_code, batch_key)
    DO UPDATE SET done = EXCLUDED.done, failed = EXCLUDED.failed, recorded_at = now()

-- forget_unit_failures --
-- A batch that runs again names its failures anew
DELETE FROM migration_unit_failure WHERE migration_id = $1 AND step_code = $2 AND batch_key = $3

-- record_unit_failures --
-- Name the units a batch could not migrate
INSERT INTO migration_unit_failure (migration_id, step_code, batch_key, pulp2_id, reason)
SELECT $1, $2, $3, pulp2_id, reason
  FROM unnest($4::text[], $5::text[]) AS f(pulp2_id, reason)
    ON CONFLICT (migration_id, step_code, pulp2_id) DO UPDATE SET reason = EXCLUDED.reason

-- task_started --
-- The task middleware records which worker runs a job
UPDATE migration_task SET worker_name = $2 WHERE job_id = $1

-- task_failed --
-- The task middleware records why a job failed (Procrastinate keeps no exception text)
UPDATE migration_task SET error_description = $2, error_traceback = $3 WHERE job_id = $1

-- record_created_resources --
-- What job $1 created ($2 kinds, each the name of a table; $3 ids in it), by UUID, after what
-- an earlier attempt of the job committed
UPDATE migration_task AS t
   SET created_resources = t.created_resources || created.resources
  FROM (SELECT jsonb_agg(jsonb_build_object(
                   'kind', w.kind, 'pulp_id', coalesce(r.pulp_id, m.pulp_id, p.pulp_id, d.pulp_id))
                   ORDER BY w.n) AS resources
          FROM unnest($2::text[], $3::bigint[]) WITH ORDINALITY AS w(kind, id, n)
          LEFT JOIN repository AS r ON w.kind = 'repository' AND r.id = w.id
          LEFT JOIN remote AS m ON w.kind = 'remote' AND m.id = w.id
          LEFT JOIN publication AS p ON w.kind = 'publication' AND p.id = w.id
          LEFT JOIN distribution AS d ON w.kind = 'distribution' AND d.id = w.id) AS created
 WHERE t.job_id = $1

-- get_expanded_plan --
-- The expanded plan a running migration works from
SELECT expanded_plan FROM migration WHERE id = $1

-- step_failure --
-- Why a step failed: the recorded error of its first task that failed for good
SELECT COALESCE(t.error_description, 'task ' || t.job_id || ' ended ' || j.status::text) AS reason
  FROM migration_task t
  JOIN procrastinate_jobs j ON j.id = t.job_id
 WHERE t.migration_id = $1 AND t.step_code = $2 AND j.status IN ('failed', 'cancelled', 'aborted')
 ORDER BY t.job_id
 LIMIT 1
