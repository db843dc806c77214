-- A report is never `canceling`: a cancel makes it `canceled` in the transaction that cancels
-- its tasks.
ALTER TABLE migration_report DROP CONSTRAINT migration_report_status_check;
ALTER TABLE migration_report ADD CONSTRAINT migration_report_status_check CHECK (status IN (
    'waiting', 'running', 'canceled', 'pausing', 'paused', 'completed', 'failed'));

DROP INDEX migration_report_one_unfinished;
CREATE UNIQUE INDEX migration_report_one_unfinished
    ON migration_report ((true))
    WHERE status IN ('waiting', 'running', 'pausing', 'paused');
