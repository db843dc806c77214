-- pulp-2to3-migration's run option: false (the default) fails a content step that met a
-- missing or corrupt downloaded file; true skips and counts such units, as every migration did before.
ALTER TABLE migration ADD COLUMN skip_corrupted boolean NOT NULL DEFAULT false;

-- A reset is recorded as a migration of kind 'reset': the unique index of unfinished migrations
-- then refuses a run during a reset, and a reset during a run.
ALTER TABLE migration ADD COLUMN kind text NOT NULL DEFAULT 'migration'
    CHECK (kind IN ('migration', 'reset'));

-- A reset deletes a plugin's content rows; their type's own rows go with them.
DO $$
DECLARE
    fk text[];
BEGIN
    FOREACH fk SLICE 1 IN ARRAY ARRAY[
        ['file_content', 'content_id'], ['rpm_package', 'content_id'],
        ['rpm_metadata', 'content_id'], ['rpm_module_package', 'module_id'],
        ['rpm_module_package', 'package_id'], ['deb_package', 'content_id'],
        ['deb_release', 'content_id'], ['deb_release_component', 'content_id'],
        ['deb_release_component', 'release_id'], ['deb_package_release_component', 'component_id'],
        ['deb_package_release_component', 'package_id']]
    LOOP
        EXECUTE format(
            'ALTER TABLE %1$I DROP CONSTRAINT %3$I, ADD CONSTRAINT %3$I'
            ' FOREIGN KEY (%2$I) REFERENCES content (id) ON DELETE CASCADE',
            fk[1], fk[2], fk[1] || '_' || fk[2] || '_fkey');
    END LOOP;
END
$$;
