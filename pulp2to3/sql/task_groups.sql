-- Task groups (pulpcore's word): each migration is one, its tasks the group's.

-- view_count_task_groups --
-- How many task groups there are (one per migration)
SELECT count(*) FROM migration

-- view_page_task_groups --
-- The migration ids of a page of task groups, oldest first
SELECT id FROM migration ORDER BY created_at, id LIMIT $1 OFFSET $2

-- view_get_task_groups --
-- Task groups by migration id ($1): their migration, whether anything is left to dispatch, and
-- their tasks' counts by state
SELECT m.id AS migration_id, m.plan_id, m.dry_run, m.kind,
       m.status IN ('completed', 'failed', 'canceled')
       OR (m.status <> 'waiting' AND NOT EXISTS (
               SELECT FROM migration_step s WHERE s.migration_id = m.id AND s.status = 'waiting'))
           AS all_tasks_dispatched,
       COALESCE(c.states, '{}'::jsonb) AS task_states,
       ARRAY(SELECT t.job_id FROM migration_task t WHERE t.migration_id = m.id ORDER BY t.job_id)
           AS job_ids
  FROM migration m
  LEFT JOIN LATERAL (
        SELECT jsonb_object_agg(state, n) AS states
          FROM (SELECT pulp2to3_task_state(j.status::text, j.abort_requested) AS state,
                       count(*) AS n
                  FROM migration_task t
                  JOIN procrastinate_jobs j ON j.id = t.job_id
                 WHERE t.migration_id = m.id
                 GROUP BY 1) AS by_state
       ) c ON true
 WHERE m.id = ANY($1::uuid[])
 ORDER BY m.created_at, m.id
