-- Named queries of the migrate_content steps: which staged units a batch takes, and the
-- set-based writes of what they become. A batch COPYs its rows into a temporary stage table
-- and moves them with one INSERT ... SELECT per target table, each ordered by the table's key so
-- that parallel batches sharing artifacts or content take their locks in the same order.

-- content_plan_unit_ranges --
-- Split the staged units of a type still to migrate into consecutive id ranges of $2 units
SELECT min(id) AS first_id, max(id) AS last_id, count(*) AS units
  FROM (SELECT id, (row_number() OVER (ORDER BY id) - 1) / $2::bigint AS bucket
          FROM pulp2_content
         WHERE content_type = $1 AND NOT is_migrated) AS numbered
 GROUP BY bucket
 ORDER BY bucket

-- content_lock_units --
-- The units of a type in an id range still to migrate, locked until the batch commits (a second
-- copy of the same batch waits, then finds them migrated)
SELECT id, pulp2_id, storage_path, downloaded, fields
  FROM pulp2_content
 WHERE content_type = $1 AND id BETWEEN $2 AND $3 AND NOT is_migrated
 ORDER BY id
   FOR UPDATE

-- content_create_file_stage --
-- The temporary table a batch of content is COPYed into, one per connection, emptied at every
-- commit (a table created and dropped per batch leaves dead rows in the system catalogs at each
-- batch, and its statements cannot be prepared once); content without a file (no relative
-- path) gets no content artifact
CREATE TEMPORARY TABLE IF NOT EXISTS content_file_stage (
    unit_id          bigint NOT NULL,
    natural_key      text   NOT NULL,
    repo_key         text   NOT NULL,
    relative_path    text,
    digest           text,
    size             bigint,
    artifact_sha256  text,
    artifact_size    bigint,
    artifact_file    text,
    -- Filled by the inserts of the artifacts and content rows, the rest by content_resolve_ids
    content_id       bigint,
    artifact_id      bigint
) ON COMMIT DELETE ROWS

-- content_clear_file_stage --
-- Empty the stage table (a second batch in the same transaction): DELETE, as a TRUNCATE gives
-- the table a new file, a new row version in pg_class each time
DELETE FROM pg_temp.content_file_stage

-- content_analyze_file_stage --
-- Temporary tables get no statistics from autovacuum: give the planner some before the joins
ANALYZE pg_temp.content_file_stage

-- content_insert_artifacts --
-- One artifact per sha256; one already there (another batch, another migration) is kept. The
-- stage rows of the artifacts inserted get their id from the insert (content_resolve_ids
-- looks up the others)
WITH inserted AS (
    INSERT INTO artifact (sha256, size, file)
    SELECT DISTINCT ON (artifact_sha256) artifact_sha256, artifact_size, artifact_file
      FROM pg_temp.content_file_stage
     WHERE artifact_sha256 IS NOT NULL
     ORDER BY artifact_sha256
        ON CONFLICT (sha256) DO NOTHING
    RETURNING id, sha256
)
UPDATE pg_temp.content_file_stage AS s
   SET artifact_id = i.id
  FROM inserted AS i
 WHERE s.artifact_sha256 = i.sha256

-- content_insert_content --
-- One content row per natural key of type $1, with its repository key; the stage rows of the
-- content inserted get their id from the insert (content_resolve_ids looks up the others)
WITH inserted AS (
    INSERT INTO content (pulp_type, natural_key, repo_key)
    SELECT $1::text, natural_key, repo_key
      FROM (SELECT DISTINCT ON (natural_key) natural_key, repo_key
              FROM pg_temp.content_file_stage
             ORDER BY natural_key) AS keys
     ORDER BY natural_key
        ON CONFLICT (pulp_type, natural_key) DO NOTHING
    RETURNING id, natural_key
)
UPDATE pg_temp.content_file_stage AS s
   SET content_id = i.id
  FROM inserted AS i
 WHERE s.natural_key = i.natural_key

-- content_resolve_ids --
-- The content (of type $1) and artifact ids of the stage rows whose insert found them there
-- (another batch's, committed once the insert waited for it, or another migration's): looked
-- up once, one index probe per row (a join would let the planner hash the whole content or
-- artifact table, a cost that grows with the tables, while a batch's is constant). In a first
-- migration, few rows: the probes were 8 of a batch's 50 ms of statements at 1,000,000 units
UPDATE pg_temp.content_file_stage AS s
   SET content_id = coalesce(s.content_id,
                             (SELECT c.id FROM content AS c
                               WHERE c.pulp_type = $1 AND c.natural_key = s.natural_key)),
       artifact_id = coalesce(s.artifact_id,
                              (SELECT a.id FROM artifact AS a WHERE a.sha256 = s.artifact_sha256))
 WHERE s.content_id IS NULL OR (s.artifact_id IS NULL AND s.artifact_sha256 IS NOT NULL)

-- content_insert_file_content --
-- The file fields of each content row (the same for every unit of a natural key)
INSERT INTO file_content (content_id, relative_path, digest, size)
SELECT DISTINCT ON (content_id) content_id, relative_path, digest, size
  FROM pg_temp.content_file_stage
 ORDER BY content_id
    ON CONFLICT (content_id) DO NOTHING

-- content_upsert_content_artifacts --
-- Each content's file: its artifact, or none (on_demand) until a unit that has the file brings it.
-- Rows already right are left alone (not even locked). The row already there is probed per stage
-- row (a scalar subquery: a NOT EXISTS may become a hash anti join over the whole table)
INSERT INTO content_artifact AS ca (content_id, relative_path, artifact_id)
SELECT DISTINCT ON (s.content_id, s.relative_path) s.content_id, s.relative_path, s.artifact_id
  FROM pg_temp.content_file_stage AS s
 WHERE s.relative_path IS NOT NULL
   AND (SELECT x.artifact_id IS NOT NULL OR s.artifact_id IS NULL
          FROM content_artifact AS x
         WHERE x.content_id = s.content_id AND x.relative_path = s.relative_path) IS NOT TRUE
 ORDER BY s.content_id, s.relative_path, s.artifact_id NULLS LAST
    ON CONFLICT (content_id, relative_path) DO UPDATE
   SET artifact_id = EXCLUDED.artifact_id
 WHERE ca.artifact_id IS NULL AND EXCLUDED.artifact_id IS NOT NULL

-- content_mark_migrated --
-- Map the staged units to the content they became; they are migrated
UPDATE pulp2_content AS p
   SET pulp3_content_id = s.content_id, is_migrated = true
  FROM pg_temp.content_file_stage AS s
 WHERE p.id = s.unit_id
