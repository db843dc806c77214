-- Named queries of the create_publications and create_distributions steps. A version has at
-- most one publication (a unique index decides, so a re-run never publishes it twice); a
-- distribution's base path is unique, and a batch that finds one taken reports it instead of
-- failing. Rows several batches may touch are written in key order, so batches never deadlock.

-- publications_versions --
-- The repository versions that hold the plan versions ($1 repository names, $2 positions) now,
-- with their publication, if any
SELECT w.name, w.position, v.id AS version_id, v.repository_id, p.id AS publication_id
  FROM unnest($1::text[], $2::integer[]) AS w(name, position)
  JOIN repository AS r ON r.name = w.name
  JOIN repository_version_origin AS o ON o.repository_id = r.id AND o.position = w.position
  JOIN repository_version AS v ON v.id = o.version_id
  LEFT JOIN publication AS p ON p.repository_version_id = v.id

-- publications_insert --
-- One publication of type $1 for each version of $2 that has none; returns the new ones
INSERT INTO publication (pulp_type, repository_version_id)
SELECT $1::text, v.id
  FROM unnest($2::bigint[]) AS v(id)
 ORDER BY v.id
    ON CONFLICT (repository_version_id) DO NOTHING
RETURNING id, repository_version_id

-- publications_clear_published_file_input --
-- Empty part $2 of $1 of create_publications' input (store/step_input.py: the versions whose id
-- is $2 modulo $1) before it is computed again: every part's rows, whatever the parts of the
-- migration that left them, so no version keeps an earlier computation's files. Parts computed
-- at once delete other rows, so neither waits for the other
DELETE FROM published_file_input WHERE version_id % $1 = $2

-- publications_compute_published_file_input --
-- Part $4 of $3 of create_publications' input: for each version whose id is $4 modulo $3, that
-- holds one of the plan versions ($1 repository names, $2 positions) and has no publication,
-- every content artifact of the
-- version at its relative path (on_demand ones too: their artifact is null), the newest content
-- winning when two share a path, with the sha256 and size of file content. One statement for
-- the whole step: hash joins over the memberships, content_artifact and file_content, rows by
-- version and path in code point order
INSERT INTO published_file_input (version_id, relative_path, content_artifact_id, sha256, size)
SELECT DISTINCT ON (v.id, ca.relative_path COLLATE "C")
       v.id, ca.relative_path, ca.id, fc.digest, fc.size
  FROM unnest($1::text[], $2::integer[]) AS w(name, position)
  JOIN repository AS r ON r.name = w.name
  JOIN repository_version_origin AS o ON o.repository_id = r.id AND o.position = w.position
  JOIN repository_version AS v ON v.id = o.version_id
  JOIN repository_content AS rc
    ON rc.repository_id = v.repository_id
   AND rc.version_added <= v.number
   AND (rc.version_removed IS NULL OR rc.version_removed > v.number)
  JOIN content_artifact AS ca ON ca.content_id = rc.content_id
  LEFT JOIN file_content AS fc ON fc.content_id = ca.content_id
 WHERE v.id % $3 = $4
   AND NOT EXISTS (SELECT FROM publication AS p WHERE p.repository_version_id = v.id)
 ORDER BY v.id, ca.relative_path COLLATE "C", ca.content_id DESC

-- publications_publish_version_files --
-- Publications $1 publish the files of their version (published_file_input) at their relative
-- paths. Returns what they publish of file content, the PULP_MANIFEST entries: by publication,
-- and by path in code point order. Each version's files are one index range of the input; the
-- publications are new (made in this transaction), so nothing is there to conflict with
WITH published AS MATERIALIZED (
    SELECT p.id AS publication_id, f.relative_path, f.content_artifact_id, f.sha256, f.size
      FROM unnest($1::bigint[]) AS p(id)
      JOIN publication AS pub ON pub.id = p.id
     CROSS JOIN LATERAL (
           SELECT f.relative_path, f.content_artifact_id, f.sha256, f.size
             FROM published_file_input AS f
            WHERE f.version_id = pub.repository_version_id
           OFFSET 0) AS f
), inserted AS (
    INSERT INTO published_artifact (publication_id, relative_path, content_artifact_id)
    SELECT publication_id, relative_path, content_artifact_id FROM published
)
SELECT publication_id, relative_path, sha256, size
  FROM published
 WHERE sha256 IS NOT NULL
 ORDER BY publication_id, relative_path COLLATE "C"

-- publications_insert_artifacts --
-- Artifacts of generated metadata files ($1 sha256, $2 sizes, $3 files); one already there is kept
INSERT INTO artifact (sha256, size, file)
SELECT DISTINCT ON (w.sha256) w.sha256, w.size, w.file
  FROM unnest($1::text[], $2::bigint[], $3::text[]) AS w(sha256, size, file)
 ORDER BY w.sha256
    ON CONFLICT (sha256) DO NOTHING

-- publications_insert_published_metadata --
-- Publication $1[i] publishes the artifact of sha256 $2[i] at relative path $3
INSERT INTO published_metadata AS pm (publication_id, relative_path, artifact_id)
SELECT w.publication_id, $3::text, a.id
  FROM unnest($1::bigint[], $2::text[]) AS w(publication_id, sha256)
  JOIN artifact AS a ON a.sha256 = w.sha256
 ORDER BY w.publication_id
    ON CONFLICT (publication_id, relative_path) DO UPDATE
   SET artifact_id = EXCLUDED.artifact_id
 WHERE pm.artifact_id IS DISTINCT FROM EXCLUDED.artifact_id

-- publications_mark_pulp2_distributors --
-- The distributors (of types $3) of Pulp 2 repositories $1[i] publish publication $2[i]
WITH locked AS (
    SELECT d.id, w.publication_id
      FROM pulp2_distributor AS d
      JOIN unnest($1::text[], $2::bigint[]) AS w(pulp2_repo_id, publication_id)
        ON w.pulp2_repo_id = d.pulp2_repo_id
     WHERE d.distributor_type_id = ANY($3::text[])
     ORDER BY d.id
       FOR UPDATE OF d
)
UPDATE pulp2_distributor AS d
   SET pulp3_publication_id = locked.publication_id
  FROM locked
 WHERE d.id = locked.id AND d.pulp3_publication_id IS DISTINCT FROM locked.publication_id

-- distributions_pulp2_distributors --
-- The staged distributors (of types $2) of the Pulp 2 repositories $1
SELECT pulp2_object_id, pulp2_repo_id, distributor_id, distributor_type_id, config,
       pulp3_distribution_id
  FROM pulp2_distributor
 WHERE pulp2_repo_id = ANY($1::text[]) AND distributor_type_id = ANY($2::text[])
 ORDER BY pulp2_repo_id, distributor_id

-- distributions_lock_base_path_roots --
-- Serialize the batches whose base paths share a first segment ($1, sorted): base paths can
-- only overlap within one, so the overlap check below and the insert after it see each other
SELECT pg_advisory_xact_lock(hashtext('pulp2to3.base_path_root:' || root))
  FROM unnest($1::text[]) AS r(root)

-- distributions_overlapping --
-- The distributions whose base path overlaps one of $1: one is a folder of the other
SELECT w.base_path AS wanted, d.id, d.name, d.base_path, d.publication_id
  FROM unnest($1::text[]) AS w(base_path)
  JOIN distribution AS d
    ON starts_with(d.base_path, w.base_path || '/') OR starts_with(w.base_path, d.base_path || '/')
 ORDER BY w.base_path, d.base_path

-- distributions_insert --
-- Distributions of type $1 ($2 names, $3 base paths, $4 publications), in base path order; one
-- whose name or base path is taken (committed, or by a batch that then commits) is skipped.
-- Returns the ones inserted
INSERT INTO distribution (pulp_type, name, base_path, publication_id)
SELECT $1::text, w.name, w.base_path, w.publication_id
  FROM unnest($2::text[], $3::text[], $4::bigint[]) AS w(name, base_path, publication_id)
 ORDER BY w.base_path, w.name
    ON CONFLICT DO NOTHING
RETURNING id, name

-- distributions_holders --
-- The distributions that have one of the names $1 or base paths $2, or one of the ids $3
SELECT id, name, base_path, publication_id
  FROM distribution
 WHERE name = ANY($1::text[]) OR base_path = ANY($2::text[]) OR id = ANY($3::bigint[])

-- distributions_set_publications --
-- Point distributions $1 at publications $2
UPDATE distribution AS d
   SET publication_id = w.publication_id
  FROM unnest($1::bigint[], $2::bigint[]) AS w(id, publication_id)
 WHERE d.id = w.id AND d.publication_id IS DISTINCT FROM w.publication_id

-- distributions_move --
-- Serve distribution $1 at base path $2 (and publication $3) instead: its distributor changed
UPDATE distribution
   SET base_path = $2, publication_id = $3
 WHERE id = $1

-- distributions_mark_pulp2_distributors --
-- Distributors $1 became distributions $2 of publications $3
UPDATE pulp2_distributor AS d
   SET pulp3_distribution_id = w.distribution_id, pulp3_publication_id = w.publication_id,
       is_migrated = true
  FROM unnest($1::text[], $2::bigint[], $3::bigint[])
       AS w(pulp2_object_id, distribution_id, publication_id)
 WHERE d.pulp2_object_id = w.pulp2_object_id
   AND (d.pulp3_distribution_id, d.pulp3_publication_id, d.is_migrated)
       IS DISTINCT FROM (w.distribution_id, w.publication_id, true)
