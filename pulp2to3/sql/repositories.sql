-- Named queries of the create_repositories and create_repo_versions steps. Every write is an
-- upsert on a natural key (repository and remote by name, version by number, a plan version's
-- origin by position, remote artifact by content artifact and remote), so a batch run twice
-- leaves the same rows. Staging rows that several batches may update are locked in id order
-- first, so parallel batches never deadlock.

-- repositories_insert --
-- The Pulp 3 repositories of a batch, by name ($1 names, $2 pulp types); existing ones are kept.
-- Returns the names of those created
INSERT INTO repository (pulp_type, name)
SELECT w.pulp_type, w.name
  FROM unnest($1::text[], $2::text[]) AS w(name, pulp_type)
 ORDER BY w.name
    ON CONFLICT (name) DO NOTHING
RETURNING name

-- repositories_insert_version_zero --
-- Every repository of $1 (names) has its empty version 0, as Pulp 3 gives each new repository
INSERT INTO repository_version (repository_id, number)
SELECT r.id, 0
  FROM repository AS r
 WHERE r.name = ANY($1::text[])
 ORDER BY r.id
    ON CONFLICT (repository_id, number) DO NOTHING

-- repositories_by_name --
-- Repositories of $1 (names) with their latest version number
SELECT r.id, r.name, r.remote_id, max(v.number) AS latest_version
  FROM repository AS r
  LEFT JOIN repository_version AS v ON v.repository_id = r.id
 WHERE r.name = ANY($1::text[])
 GROUP BY r.id

-- repositories_importers --
-- The staged importers of the Pulp 2 repositories $1
SELECT pulp2_object_id, pulp2_repo_id, config
  FROM pulp2_importer
 WHERE pulp2_repo_id = ANY($1::text[])

-- repositories_remotes_by_name --
-- Remotes of $1 (names)
SELECT id, name
  FROM remote
 WHERE name = ANY($1::text[])

-- repositories_insert_remotes --
-- Remotes ($1 names, $2 types, $3 urls, $4 policies, $5 options as JSON text) that do not exist
-- yet; returns the names of those this statement inserted (not one another batch inserts
-- meanwhile: this one waits for it, then leaves it)
INSERT INTO remote (pulp_type, name, url, policy, options)
SELECT w.pulp_type, w.name, w.url, w.policy, w.options::jsonb
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
       AS w(name, pulp_type, url, policy, options)
 ORDER BY w.name
    ON CONFLICT (name) DO NOTHING
RETURNING name

-- repositories_update_remotes --
-- The remotes of $1 (names) that differ from $2 types, $3 urls, $4 policies, $5 options (JSON
-- text) take them; one already right is left alone (not even locked)
UPDATE remote AS r
   SET pulp_type = w.pulp_type, url = w.url, policy = w.policy, options = w.options::jsonb
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
       AS w(name, pulp_type, url, policy, options)
 WHERE r.name = w.name
   AND (r.pulp_type, r.url, r.policy, r.options)
       IS DISTINCT FROM (w.pulp_type, w.url, w.policy, w.options::jsonb)

-- repositories_set_remotes --
-- Tie each repository ($1 names) to its remote ($2 ids, null for none)
UPDATE repository AS r
   SET remote_id = w.remote_id
  FROM unnest($1::text[], $2::bigint[]) AS w(name, remote_id)
 WHERE r.name = w.name AND r.remote_id IS DISTINCT FROM w.remote_id

-- repositories_clear_remote_artifact_input --
-- Empty create_repositories' input (store/step_input.py) before it is computed again
TRUNCATE remote_artifact_input

-- repositories_compute_remote_artifact_input --
-- create_repositories' input: every lazy catalog entry of the importers of the Pulp 2
-- repositories $1 as the remote artifact it gives, for the content artifact of the content its
-- unit became; one per importer and content artifact (the newest revision wins); the sha256 is
-- the catalog's checksum when it is a sha256. A content of several files (a kickstart tree)
-- takes, for each file, the entry whose path ends with it. One statement for the whole step:
-- hash joins over the catalog, pulp2_content, content_artifact and file_content, rows in
-- importer order
INSERT INTO remote_artifact_input (importer_id, content_artifact_id, url, sha256, size)
SELECT DISTINCT ON (lc.importer_id, ca.id)
       lc.importer_id, ca.id, lc.url,
       CASE WHEN lower(lc.checksum_algorithm) = 'sha256' THEN lower(lc.checksum) END,
       fc.size
  FROM pulp2_importer AS i
  JOIN pulp2_lazy_catalog AS lc ON lc.importer_id = i.pulp2_object_id
  JOIN pulp2_content AS pc ON pc.pulp2_id = lc.pulp2_unit_id
  JOIN content_artifact AS ca ON ca.content_id = pc.pulp3_content_id
  LEFT JOIN file_content AS fc ON fc.content_id = ca.content_id
 WHERE i.pulp2_repo_id = ANY($1::text[])
   AND (right(lc.path, length(ca.relative_path) + 1) = '/' || ca.relative_path
        OR NOT EXISTS (SELECT FROM content_artifact AS other
                        WHERE other.content_id = ca.content_id AND other.id <> ca.id))
 ORDER BY lc.importer_id, ca.id, lc.revision DESC, lc.url

-- repositories_upsert_remote_artifacts --
-- The remote artifacts the lazy catalog of importer $1[i] gives (remote_artifact_input) become
-- remote artifacts of remote $2[i], which may have some already; each importer's are read as
-- one index range
INSERT INTO remote_artifact AS ra (content_artifact_id, remote_id, url, sha256, size)
SELECT content_artifact_id, remote_id, url, sha256, size
  FROM pulp2to3_offered_remote_artifacts($1::text[], $2::bigint[])
 ORDER BY content_artifact_id, remote_id
    ON CONFLICT (content_artifact_id, remote_id) DO UPDATE
   SET url = EXCLUDED.url, sha256 = EXCLUDED.sha256, size = EXCLUDED.size
 WHERE (ra.url, ra.sha256, ra.size)
       IS DISTINCT FROM (EXCLUDED.url, EXCLUDED.sha256, EXCLUDED.size)

-- repositories_insert_remote_artifacts --
-- The same for remotes $2 that this transaction created: none can have a remote artifact yet, so
-- no conflict is looked for (a third less time than the upsert)
INSERT INTO remote_artifact (content_artifact_id, remote_id, url, sha256, size)
SELECT content_artifact_id, remote_id, url, sha256, size
  FROM pulp2to3_offered_remote_artifacts($1::text[], $2::bigint[])
 ORDER BY content_artifact_id, remote_id

-- repositories_delete_stale_remote_artifacts --
-- Remote artifacts of remote $2[i] that the lazy catalog of importer $1[i] does not give any
-- more (remote_artifact_input; all of them when $1[i] is null: no importer)
DELETE FROM remote_artifact AS ra
 USING unnest($1::text[], $2::bigint[]) AS m(importer_id, remote_id)
 WHERE ra.remote_id = m.remote_id
   AND NOT EXISTS (
       SELECT
         FROM remote_artifact_input AS i
        WHERE i.importer_id = m.importer_id AND i.content_artifact_id = ra.content_artifact_id)

-- repositories_mark_pulp2_repositories --
-- Map Pulp 2 repositories ($1 repo ids) to the Pulp 3 repositories ($2 ids) they feed
WITH locked AS (
    SELECT p.id, w.repository_id
      FROM pulp2_repository AS p
      JOIN unnest($1::text[], $2::bigint[]) AS w(pulp2_repo_id, repository_id)
        ON w.pulp2_repo_id = p.pulp2_repo_id
     ORDER BY p.id
       FOR UPDATE OF p
)
UPDATE pulp2_repository AS p
   SET pulp3_repository_id = locked.repository_id, is_migrated = true
  FROM locked
 WHERE p.id = locked.id
   AND (p.pulp3_repository_id, p.is_migrated) IS DISTINCT FROM (locked.repository_id, true)

-- repositories_mark_pulp2_importers --
-- Map Pulp 2 importers ($1 object ids) to the remotes ($2 ids, null when no feed) they became
WITH locked AS (
    SELECT p.id, w.remote_id
      FROM pulp2_importer AS p
      JOIN unnest($1::text[], $2::bigint[]) AS w(pulp2_object_id, remote_id)
        ON w.pulp2_object_id = p.pulp2_object_id
     ORDER BY p.id
       FOR UPDATE OF p
)
UPDATE pulp2_importer AS p
   SET pulp3_remote_id = locked.remote_id, is_migrated = true
  FROM locked
 WHERE p.id = locked.id
   AND (p.pulp3_remote_id, p.is_migrated) IS DISTINCT FROM (locked.remote_id, true)

-- repo_versions_existing_pulp2_repositories --
-- Which of the Pulp 2 repositories $1 are staged
SELECT pulp2_repo_id
  FROM pulp2_repository
 WHERE pulp2_repo_id = ANY($1::text[])

-- repo_versions_clear_version_content_input --
-- Empty create_repo_versions' input (store/step_input.py) before it is computed again
TRUNCATE version_content_input

-- repo_versions_compute_version_content_input --
-- create_repo_versions' input: what a version made from each of the Pulp 2 repositories $1
-- holds (pulp2to3_version_content), in Pulp 2 repository order
INSERT INTO version_content_input (pulp2_repo_id, content_id)
SELECT pulp2_repo_id, content_id FROM pulp2to3_version_content($1::text[])

-- repo_versions_outdated --
-- Which plan versions ($1 repositories, $2 positions, $3 their Pulp 2 repositories) need a new
-- repository version: none holds them yet, theirs came from another Pulp 2 repository, or it
-- holds other content than the Pulp 2 repository gives now (version_content_input)
WITH wanted AS (
    SELECT w.repository_id, w.position, w.pulp2_repo_id, v.number
      FROM unnest($1::bigint[], $2::integer[], $3::text[])
           AS w(repository_id, position, pulp2_repo_id)
      LEFT JOIN repository_version_origin AS o
        ON o.repository_id = w.repository_id AND o.position = w.position
       AND o.pulp2_repo_id = w.pulp2_repo_id
      LEFT JOIN repository_version AS v ON v.id = o.version_id
)
SELECT w.repository_id, w.position
  FROM wanted AS w
 WHERE w.number IS NULL
    OR EXISTS (
        SELECT
          FROM (SELECT t.content_id
                  FROM version_content_input AS t
                 WHERE t.pulp2_repo_id = w.pulp2_repo_id) AS target
          FULL JOIN (SELECT c.content_id
                       FROM repository_content AS c
                      WHERE c.repository_id = w.repository_id
                        AND c.version_added <= w.number
                        AND (c.version_removed IS NULL OR c.version_removed > w.number)) AS held
            ON held.content_id = target.content_id
         WHERE held.content_id IS NULL OR target.content_id IS NULL)

-- repo_versions_create --
-- Version $2[i] of repository $1[i] (one number per repository, the one after its latest)
-- holding exactly what Pulp 2 repository $3[i] gives (version_content_input). Pulp 3's
-- membership rows: content that leaves gets version_removed, content that arrives a new row
-- version_added.
-- Everything is computed from the memberships as they were before this statement, and nothing
-- happens for a version that exists already. What the repositories hold now is read by
-- repository (LATERAL ... OFFSET 0: an index range each), never by a scan of all memberships,
-- which the planner chose and which grew with the table (half a batch's time at 1,000,000
-- units). Returns the versions it created.
WITH wanted AS (
    SELECT w.repository_id, w.number, w.pulp2_repo_id
      FROM unnest($1::bigint[], $2::integer[], $3::text[]) AS w(repository_id, number, pulp2_repo_id)
), created AS (
    INSERT INTO repository_version (repository_id, number)
    SELECT repository_id, number FROM wanted ORDER BY repository_id
        ON CONFLICT (repository_id, number) DO NOTHING
    RETURNING repository_id, number
), target AS MATERIALIZED (
    SELECT c.repository_id, c.number, t.content_id
      FROM created AS c
      JOIN wanted AS w ON w.repository_id = c.repository_id AND w.number = c.number
     CROSS JOIN LATERAL (
           SELECT t.content_id
             FROM version_content_input AS t
            WHERE t.pulp2_repo_id = w.pulp2_repo_id
           OFFSET 0) AS t
), held AS MATERIALIZED (
    SELECT c.repository_id, c.number, h.content_id, h.version_added
      FROM created AS c
     CROSS JOIN LATERAL (
           SELECT cur.content_id, cur.version_added
             FROM repository_content AS cur
            WHERE cur.repository_id = c.repository_id AND cur.version_removed IS NULL
           OFFSET 0) AS h
), removed AS (
    UPDATE repository_content AS cur
       SET version_removed = h.number
      FROM held AS h
     WHERE cur.repository_id = h.repository_id
       AND cur.content_id = h.content_id
       AND cur.version_added = h.version_added
       AND NOT EXISTS (SELECT FROM target AS t
                        WHERE t.repository_id = h.repository_id AND t.content_id = h.content_id)
    RETURNING 1
), added AS (
    INSERT INTO repository_content (repository_id, content_id, version_added)
    SELECT t.repository_id, t.content_id, t.number
      FROM target AS t
     WHERE NOT EXISTS (SELECT FROM held AS h
                        WHERE h.repository_id = t.repository_id AND h.content_id = t.content_id)
     ORDER BY t.repository_id, t.content_id
    RETURNING 1
)
SELECT c.repository_id, c.number,
       (SELECT count(*) FROM added) AS added,
       (SELECT count(*) FROM removed) AS removed
  FROM created AS c

-- repo_versions_set_origins --
-- Plan version $2[i] of repository $1[i], from Pulp 2 repository $3[i], is held by the
-- repository's version number $4[i] now
INSERT INTO repository_version_origin AS o (repository_id, position, pulp2_repo_id, version_id)
SELECT w.repository_id, w.position, w.pulp2_repo_id, v.id
  FROM unnest($1::bigint[], $2::integer[], $3::text[], $4::integer[])
       AS w(repository_id, position, pulp2_repo_id, number)
  JOIN repository_version AS v ON v.repository_id = w.repository_id AND v.number = w.number
 ORDER BY w.repository_id, w.position
    ON CONFLICT (repository_id, position) DO UPDATE
   SET pulp2_repo_id = EXCLUDED.pulp2_repo_id, version_id = EXCLUDED.version_id
 WHERE (o.pulp2_repo_id, o.version_id)
       IS DISTINCT FROM (EXCLUDED.pulp2_repo_id, EXCLUDED.version_id)

-- repositories_remote_options --
-- The options of remote $1 (name)
SELECT options FROM remote WHERE name = $1
