-- One execution of a plan is a migration everywhere (docs/design.md, "Glossary"): the table
-- that was `migration_report` is `migration`, and the columns that named it `migration_id`.
-- Jobs queued before (held by a pause, say) get their argument under the new name too.
ALTER TABLE migration_report RENAME TO migration;
ALTER TABLE migration RENAME CONSTRAINT migration_report_pkey TO migration_pkey;
ALTER TABLE migration RENAME CONSTRAINT migration_report_plan_id_fkey TO migration_plan_id_fkey;
ALTER TABLE migration RENAME CONSTRAINT migration_report_status_check TO migration_status_check;
ALTER INDEX migration_report_one_unfinished RENAME TO migration_one_unfinished;
ALTER INDEX migration_report_plan RENAME TO migration_by_plan;
ALTER INDEX migration_task_report_step RENAME TO migration_task_step;
ALTER TABLE migration_step RENAME COLUMN report_id TO migration_id;
ALTER TABLE migration_step RENAME CONSTRAINT migration_step_report_id_fkey TO migration_step_migration_id_fkey;
ALTER TABLE migration_step RENAME CONSTRAINT migration_step_report_id_code_key TO migration_step_migration_id_code_key;
ALTER TABLE migration_task RENAME COLUMN report_id TO migration_id;
ALTER TABLE migration_task RENAME CONSTRAINT migration_task_report_id_fkey TO migration_task_migration_id_fkey;
ALTER TABLE migration_batch_progress RENAME COLUMN report_id TO migration_id;
ALTER TABLE migration_batch_progress RENAME CONSTRAINT migration_batch_progress_report_id_fkey TO migration_batch_progress_migration_id_fkey;
ALTER TABLE migration_pause RENAME COLUMN report_id TO migration_id;
ALTER TABLE migration_pause RENAME CONSTRAINT migration_pause_report_id_fkey TO migration_pause_migration_id_fkey;
ALTER TABLE migration_unit_failure RENAME COLUMN report_id TO migration_id;
ALTER TABLE migration_unit_failure RENAME CONSTRAINT migration_unit_failure_report_id_fkey TO migration_unit_failure_migration_id_fkey;
UPDATE procrastinate_jobs
   SET args = (args - 'report_id') || jsonb_build_object('migration_id', args -> 'report_id')
 WHERE task_name LIKE 'pulp2to3.%' AND args ? 'report_id';
