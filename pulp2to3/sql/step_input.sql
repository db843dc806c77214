-- Named queries of the repository steps' inputs (schema.sql: "The repository steps' inputs"):
-- which migration a step's input was computed for, and the lock its computing batch holds.

-- step_input_is --
-- Whether the input of step $1 is migration $2's, computed for arguments $3 (not: never
-- computed, lost in a crash, or another migration's)
SELECT EXISTS (SELECT FROM step_input WHERE step_code = $1 AND migration_id = $2 AND arguments = $3)

-- step_input_lock --
-- One batch at a time computes the input of step $1; the others wait here until it commits
SELECT pg_advisory_xact_lock(hashtext('pulp2to3.step_input:' || $1))

-- step_input_work_mem --
-- The input's hash joins and sort hold the whole tables' keys: in memory, not in batches on disk
SELECT set_config('work_mem', '256MB', true)

-- step_input_record --
-- The input of step $1 is migration $2's now, computed for arguments $3
INSERT INTO step_input AS s (step_code, migration_id, arguments)
VALUES ($1, $2, $3)
    ON CONFLICT (step_code) DO UPDATE
   SET migration_id = EXCLUDED.migration_id, arguments = EXCLUDED.arguments
