-- Named queries of the repository steps' inputs (schema.sql: "The repository steps' inputs"):
-- which migration a step's input was computed for, and the lock its computing batch holds.

-- step_input_is --
-- Whether the input of step $1 is migration $2's, computed for arguments $3 (not: never
-- computed, lost in a crash, or another migration's)
SELECT EXISTS (SELECT FROM step_input WHERE step_code = $1 AND migration_id = $2 AND arguments = $3)

-- step_input_lock --
-- One batch at a time computes the input of step $1; the others wait here until it commits
SELECT pg_advisory_xact_lock(hashtext('pulp2to3.step_input:' || $1))

-- step_input_settings --
-- How the input's statement runs: its hash joins and sort hold the whole tables' keys, in
-- memory rather than in batches on disk; no nested loop, as the input is every row of the
-- step: without statistics (autovacuum off) the planner took the importers' filter for 0.5 %
-- of the lazy catalog and probed pulp2_content and content_artifact by index for each entry,
-- the cost the input is there to avoid; no JIT, whose compilation the same missing statistics
-- set off for 0.2-0.3 s a statement and which gained nothing back (remote artifacts at 1,000,000
-- units: 4.9 s with it, 4.7 s without)
SELECT set_config('work_mem', '256MB', true), set_config('enable_nestloop', 'off', true),
       set_config('jit', 'off', true)

-- step_input_settings_reset --
-- The rest of the batch's statements run as usual (they read index ranges: nested loops)
RESET work_mem; RESET enable_nestloop; RESET jit

-- step_input_record --
-- The input of step $1 is migration $2's now, computed for arguments $3
INSERT INTO step_input AS s (step_code, migration_id, arguments)
VALUES ($1, $2, $3)
    ON CONFLICT (step_code) DO UPDATE
   SET migration_id = EXCLUDED.migration_id, arguments = EXCLUDED.arguments
