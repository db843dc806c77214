-- Named queries of pulp2to3, loaded once by pulp2to3.database (asyncpg $n placeholders).
-- File format: a `-- name --` line, `-- description` lines, then one statement.

-- init_db_lock --
-- Serialize concurrent `init-db` runs (transaction-level advisory lock)
SELECT pg_advisory_xact_lock(hashtext('pulp2to3.init_db'))

-- procrastinate_installed --
-- Whether Procrastinate's schema is already installed
SELECT to_regclass('procrastinate_jobs') IS NOT NULL AS installed

-- cancel_jobs --
-- Cancel queued jobs and ask running ones to abort, all in one statement; returns the ids acted on
SELECT acted.id
  FROM unnest($1::bigint[]) AS job(id)
 CROSS JOIN LATERAL (SELECT procrastinate_cancel_job_v1(job.id, true, false) AS id) AS acted
 WHERE acted.id IS NOT NULL

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
