-- Secrets at rest: the rows that hold encrypted importer secrets, read and rewritten by
-- `pulp2to3 rotate-key`.

-- encryption_importer_configs --
-- Every staged importer's config, locked until the rotation commits
SELECT pulp2_object_id, config
  FROM pulp2_importer
 ORDER BY pulp2_object_id
   FOR UPDATE

-- encryption_remote_options --
-- Every remote's options, locked until the rotation commits
SELECT id, options
  FROM remote
 ORDER BY id
   FOR UPDATE

-- encryption_update_importer_configs --
-- Set the config of importers $1 (object ids) to $2 (JSON text)
UPDATE pulp2_importer AS i
   SET config = w.config::jsonb
  FROM unnest($1::text[], $2::text[]) AS w(pulp2_object_id, config)
 WHERE i.pulp2_object_id = w.pulp2_object_id

-- encryption_update_remote_options --
-- Set the options of remotes $1 (ids) to $2 (JSON text)
UPDATE remote AS r
   SET options = w.options::jsonb
  FROM unnest($1::bigint[], $2::text[]) AS w(id, options)
 WHERE r.id = w.id
