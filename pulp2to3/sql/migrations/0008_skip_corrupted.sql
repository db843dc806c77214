-- pulp-2to3-migration's run option: false (the default) fails a content step that met a
-- missing or corrupt downloaded file; true skips and counts such units, as every migration did before.
ALTER TABLE migration ADD COLUMN skip_corrupted boolean NOT NULL DEFAULT false;
