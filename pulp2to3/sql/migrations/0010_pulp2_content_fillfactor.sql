-- Content batches mark their units migrated with a HOT update (schema.sql says why); pages
-- written from now on keep half their space free (rows already staged stay where they are).
ALTER TABLE pulp2_content SET (fillfactor = 50);
