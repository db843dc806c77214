-- Named queries behind the read-only views (what was migrated) and the content app.
-- Lists are ordered by the bigint key (insertion order, stable under offset paging); every
-- reference a row shows is joined in the same statement, so a page costs three queries, never
-- one per row. Optional filters are typed parameters that are NULL when not given. A list has
-- a count (its filters), a page (the filters, then the limit and the offset: the keys of one
-- page, in order) and a get (an array of keys: their rows, in the same order); a detail reads
-- its one key with the same get, so an object shows the same in both.

-- view_count_repositories --
-- How many repositories there are
SELECT count(*) FROM repository

-- view_page_repositories --
-- The UUIDs of a page of repositories
SELECT pulp_id FROM repository ORDER BY id LIMIT $1 OFFSET $2

-- view_get_repositories --
-- Repositories by UUID ($1), with their remote's UUID and their latest version number
SELECT r.id, r.pulp_id, r.created_at, r.pulp_type, r.name, r.description,
       rm.pulp_id AS remote_pulp_id, latest.number AS latest_version
  FROM repository AS r
  LEFT JOIN remote AS rm ON rm.id = r.remote_id
  LEFT JOIN LATERAL (SELECT max(v.number) AS number
                       FROM repository_version AS v
                      WHERE v.repository_id = r.id) AS latest ON true
 WHERE r.pulp_id = ANY($1::uuid[])
 ORDER BY r.id

-- view_count_repository_versions --
-- How many versions a repository (by UUID) has; NULL when there is no such repository
SELECT (SELECT count(*) FROM repository_version AS v WHERE v.repository_id = r.id)
  FROM repository AS r
 WHERE r.pulp_id = $1

-- view_page_repository_versions --
-- The numbers of a page of the versions of a repository (by UUID, $1), newest first, as Pulp
-- lists them
SELECT v.number
  FROM repository AS r
  JOIN repository_version AS v ON v.repository_id = r.id
 WHERE r.pulp_id = $1
 ORDER BY v.number DESC
 LIMIT $2 OFFSET $3

-- view_get_repository_versions --
-- Versions of a repository (by UUID, $1) by number ($2), newest first
SELECT v.id, v.pulp_id, v.created_at, v.number, r.pulp_id AS repository_pulp_id
  FROM repository AS r
  JOIN repository_version AS v ON v.repository_id = r.id
 WHERE r.pulp_id = $1 AND v.number = ANY($2::integer[])
 ORDER BY v.number DESC

-- view_content_summaries --
-- Content counts of some versions (by id), per pulp_type: added in, removed in, present in
-- each. One pass over the memberships of their repositories counts the changes at each version
-- number; a version's present count is the running total of the changes up to its number (a
-- membership is present in N when version_added <= N and it was not removed by N)
WITH versions AS (
    SELECT id, repository_id, number FROM repository_version WHERE id = ANY($1::bigint[])
), repositories AS (
    SELECT repository_id, max(number) AS top FROM versions GROUP BY repository_id
), changes AS (
    SELECT rc.repository_id, c.pulp_type, rc.version_added AS number, 1 AS added, 0 AS removed
      FROM repositories AS r
      JOIN repository_content AS rc
        ON rc.repository_id = r.repository_id AND rc.version_added <= r.top
      JOIN content AS c ON c.id = rc.content_id
    UNION ALL
    SELECT rc.repository_id, c.pulp_type, rc.version_removed, 0, 1
      FROM repositories AS r
      JOIN repository_content AS rc
        ON rc.repository_id = r.repository_id AND rc.version_removed <= r.top
      JOIN content AS c ON c.id = rc.content_id
), per_number AS (
    SELECT repository_id, pulp_type, number, count(*) FILTER (WHERE added = 1) AS added,
           count(*) FILTER (WHERE removed = 1) AS removed
      FROM changes
     GROUP BY repository_id, pulp_type, number
)
SELECT v.id AS version_id, p.pulp_type,
       coalesce(sum(p.added) FILTER (WHERE p.number = v.number), 0)::bigint AS added,
       coalesce(sum(p.removed) FILTER (WHERE p.number = v.number), 0)::bigint AS removed,
       sum(p.added - p.removed)::bigint AS present
  FROM versions AS v
  JOIN per_number AS p ON p.repository_id = v.repository_id AND p.number <= v.number
 GROUP BY v.id, p.pulp_type
 ORDER BY v.id, p.pulp_type

-- view_find_repository_version --
-- The internal ids of a version named by its repository's UUID and its number
SELECT v.repository_id, v.number
  FROM repository AS r
  JOIN repository_version AS v ON v.repository_id = r.id
 WHERE r.pulp_id = $1 AND v.number = $2

-- view_count_publications --
-- How many publications there are
SELECT count(*) FROM publication

-- view_page_publications --
-- The UUIDs of a page of publications
SELECT pulp_id FROM publication ORDER BY id LIMIT $1 OFFSET $2

-- view_get_publications --
-- Publications by UUID ($1), with their version and the distributions that serve them
WITH wanted AS (
    SELECT p.id, p.pulp_id, p.created_at, p.pulp_type, v.number AS version_number,
           r.pulp_id AS repository_pulp_id
      FROM publication AS p
      JOIN repository_version AS v ON v.id = p.repository_version_id
      JOIN repository AS r ON r.id = v.repository_id
     WHERE p.pulp_id = ANY($1::uuid[])
), served AS (
    SELECT d.publication_id, array_agg(d.pulp_id ORDER BY d.id) AS distribution_pulp_ids
      FROM distribution AS d
     WHERE d.publication_id IN (SELECT id FROM wanted)
     GROUP BY d.publication_id
)
SELECT wanted.*, coalesce(served.distribution_pulp_ids, '{}') AS distribution_pulp_ids
  FROM wanted
  LEFT JOIN served ON served.publication_id = wanted.id
 ORDER BY wanted.id

-- view_count_distributions --
-- How many distributions there are
SELECT count(*) FROM distribution

-- view_page_distributions --
-- The UUIDs of a page of distributions
SELECT pulp_id FROM distribution ORDER BY id LIMIT $1 OFFSET $2

-- view_get_distributions --
-- Distributions by UUID ($1), with the UUID of the publication they serve
SELECT d.id, d.pulp_id, d.created_at, d.pulp_type, d.name, d.base_path,
       p.pulp_id AS publication_pulp_id
  FROM distribution AS d
  LEFT JOIN publication AS p ON p.id = d.publication_id
 WHERE d.pulp_id = ANY($1::uuid[])
 ORDER BY d.id

-- view_count_remotes --
-- How many remotes there are
SELECT count(*) FROM remote

-- view_page_remotes --
-- The UUIDs of a page of remotes
SELECT pulp_id FROM remote ORDER BY id LIMIT $1 OFFSET $2

-- view_get_remotes --
-- Remotes by UUID ($1)
SELECT id, pulp_id, created_at, pulp_type, name, url, policy, options
  FROM remote
 WHERE pulp_id = ANY($1::uuid[])
 ORDER BY id

-- view_count_content --
-- How many content units there are, optionally of one pulp_type ($1)
SELECT count(*) FROM content WHERE ($1::text IS NULL OR pulp_type = $1)

-- view_page_content --
-- The UUIDs of a page of content units, optionally of one pulp_type ($1)
SELECT pulp_id
  FROM content
 WHERE ($1::text IS NULL OR pulp_type = $1)
 ORDER BY id
 LIMIT $2 OFFSET $3

-- view_get_content --
-- Content units by UUID ($1), with their file fields if any
SELECT c.id, c.pulp_id, c.created_at, c.pulp_type, c.natural_key,
       f.relative_path, f.digest, f.size
  FROM content AS c
  LEFT JOIN file_content AS f ON f.content_id = c.id
 WHERE c.pulp_id = ANY($1::uuid[])
 ORDER BY c.id

-- view_count_version_content --
-- How many units of repository $1 are, at version number $2, present ($3 = 'present'), added
-- ($3 = 'added') or removed ($3 = 'removed'); optionally of one pulp_type ($4)
SELECT count(*)
  FROM repository_content AS rc
  JOIN content AS c ON c.id = rc.content_id
 WHERE rc.repository_id = $1
   AND CASE $3::text
           WHEN 'added' THEN rc.version_added = $2
           WHEN 'removed' THEN rc.version_removed = $2
           ELSE rc.version_added <= $2 AND (rc.version_removed IS NULL OR rc.version_removed > $2)
       END
   AND ($4::text IS NULL OR c.pulp_type = $4)

-- view_page_version_content --
-- The UUIDs of a page of the units of repository $1 present, added or removed ($3) at version
-- number $2, optionally of one pulp_type ($4)
SELECT c.pulp_id
  FROM repository_content AS rc
  JOIN content AS c ON c.id = rc.content_id
 WHERE rc.repository_id = $1
   AND CASE $3::text
           WHEN 'added' THEN rc.version_added = $2
           WHEN 'removed' THEN rc.version_removed = $2
           ELSE rc.version_added <= $2 AND (rc.version_removed IS NULL OR rc.version_removed > $2)
       END
   AND ($4::text IS NULL OR c.pulp_type = $4)
 ORDER BY c.id
 LIMIT $5 OFFSET $6

-- view_get_pulp2_repositories --
-- Pulp 2 repositories by UUID ($1), with what they became: the Pulp 3 repository, the newest
-- version that holds their content, the remote their importer became, the publications and
-- distributions their distributors became
SELECT p.pulp_id, p.created_at, p.pulp2_object_id, p.pulp2_repo_id,
       p.pulp2_repo_type, p.is_migrated, p.not_in_plan,
       r.pulp_id AS repository_pulp_id,
       rm.pulp_id AS remote_pulp_id,
       held.repository_pulp_id AS version_repository_pulp_id,
       held.version_number,
       published.publication_pulp_id,
       coalesce(served.distribution_pulp_ids, '{}') AS distribution_pulp_ids
  FROM pulp2_repository AS p
  LEFT JOIN repository AS r ON r.id = p.pulp3_repository_id
  LEFT JOIN pulp2_importer AS i ON i.pulp2_repo_id = p.pulp2_repo_id
  LEFT JOIN remote AS rm ON rm.id = i.pulp3_remote_id
  LEFT JOIN LATERAL (
        SELECT v.number AS version_number, vr.pulp_id AS repository_pulp_id
          FROM repository_version_origin AS o
          JOIN repository_version AS v ON v.id = o.version_id
          JOIN repository AS vr ON vr.id = o.repository_id
         WHERE o.pulp2_repo_id = p.pulp2_repo_id
         ORDER BY v.id DESC
         LIMIT 1
       ) AS held ON true
  LEFT JOIN LATERAL (
        SELECT pub.pulp_id AS publication_pulp_id
          FROM pulp2_distributor AS dist
          JOIN publication AS pub ON pub.id = dist.pulp3_publication_id
         WHERE dist.pulp2_repo_id = p.pulp2_repo_id
         ORDER BY dist.id
         LIMIT 1
       ) AS published ON true
  LEFT JOIN LATERAL (
        SELECT array_agg(d.pulp_id ORDER BY dist.id) AS distribution_pulp_ids
          FROM pulp2_distributor AS dist
          JOIN distribution AS d ON d.id = dist.pulp3_distribution_id
         WHERE dist.pulp2_repo_id = p.pulp2_repo_id
       ) AS served ON true
 WHERE p.pulp_id = ANY($1::uuid[])
 ORDER BY p.id

-- view_get_pulp2_content --
-- Pulp 2 units by UUID ($1), with the content each became and whether it is outside the plan
-- (one pass over the memberships of these units, not one per unit)
WITH wanted AS (
    SELECT c.id, c.pulp_id, c.created_at, c.pulp2_id, c.content_type, c.last_updated,
           c.storage_path, c.downloaded, c.is_migrated, c.pulp3_content_id
      FROM pulp2_content AS c
     WHERE c.pulp_id = ANY($1::uuid[])
), in_plan AS (
    SELECT DISTINCT rc.pulp2_unit_id
      FROM pulp2_repo_content AS rc
      JOIN pulp2_repository AS r ON r.pulp2_repo_id = rc.pulp2_repo_id
     WHERE NOT r.not_in_plan
       AND rc.pulp2_unit_id IN (SELECT pulp2_id FROM wanted)
)
SELECT wanted.pulp_id, wanted.created_at, wanted.pulp2_id, wanted.content_type,
       wanted.last_updated, wanted.storage_path,
       wanted.downloaded, wanted.is_migrated, in_plan.pulp2_unit_id IS NULL AS not_in_plan,
       content.pulp_id AS content_pulp_id
  FROM wanted
  LEFT JOIN in_plan ON in_plan.pulp2_unit_id = wanted.pulp2_id
  LEFT JOIN content ON content.id = wanted.pulp3_content_id
 ORDER BY wanted.id

-- content_app_distribution --
-- The distribution whose base path is the longest of the candidate prefixes ($1), with its
-- publication's id (NULL when it serves none)
SELECT d.base_path, d.publication_id
  FROM distribution AS d
 WHERE d.base_path = ANY($1::text[])
 ORDER BY length(d.base_path) DESC
 LIMIT 1

-- content_app_base_paths_under --
-- The base paths of the distributions that start with a prefix ($1, '' for all)
SELECT base_path FROM distribution WHERE starts_with(base_path, $1) ORDER BY base_path

-- content_app_published_file --
-- What publication $1 serves at relative path $2: generated metadata first, else a content
-- file (its artifact, or when it was never downloaded the URL of a remote artifact: the one of
-- the published repository's own remote when it has one)
WITH own AS (
    SELECT r.remote_id
      FROM publication AS p
      JOIN repository_version AS rv ON rv.id = p.repository_version_id
      JOIN repository AS r ON r.id = rv.repository_id
     WHERE p.id = $1
)
SELECT a.file, a.sha256, NULL AS remote_url
  FROM published_metadata AS pm
  JOIN artifact AS a ON a.id = pm.artifact_id
 WHERE pm.publication_id = $1 AND pm.relative_path = $2
UNION ALL
SELECT a.file, a.sha256,
       (SELECT ra.url FROM remote_artifact AS ra
         WHERE ra.content_artifact_id = ca.id
         ORDER BY ra.remote_id IS NOT DISTINCT FROM (SELECT remote_id FROM own) DESC, ra.id
         LIMIT 1) AS remote_url
  FROM published_artifact AS pa
  JOIN content_artifact AS ca ON ca.id = pa.content_artifact_id
  LEFT JOIN artifact AS a ON a.id = ca.artifact_id
 WHERE pa.publication_id = $1 AND pa.relative_path = $2
LIMIT 1

-- content_app_published_under --
-- The names directly under a folder ($2: '' or ending in '/') of what publication $1 serves,
-- each with whether it is itself a folder
SELECT DISTINCT split_part(rest, '/', 1) AS name, strpos(rest, '/') > 0 AS is_folder
  FROM (SELECT substr(relative_path, length($2) + 1) AS rest
          FROM published_artifact
         WHERE publication_id = $1 AND starts_with(relative_path, $2)
        UNION ALL
        SELECT substr(relative_path, length($2) + 1)
          FROM published_metadata
         WHERE publication_id = $1 AND starts_with(relative_path, $2)) AS entries
 WHERE rest <> ''
 ORDER BY name, is_folder
