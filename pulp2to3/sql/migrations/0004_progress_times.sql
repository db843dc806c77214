-- Rates and ETAs need to know when each batch finished and when the migration was paused.
-- Batches recorded before this get the time of this change: a migration running across the
-- upgrade shows a burst in its rate for a minute.
ALTER TABLE migration_batch_progress ADD COLUMN recorded_at timestamptz NOT NULL DEFAULT now();

CREATE TABLE migration_pause (
    report_id   uuid        NOT NULL REFERENCES migration_report (id) ON DELETE CASCADE,
    paused_at   timestamptz NOT NULL,
    resumed_at  timestamptz,
    PRIMARY KEY (report_id, paused_at)
);
