-- Named queries of the Debian plugin: the fields of packages, releases and components as
-- content batches write them, and what a publication of a Debian repository version reads back.

-- deb_create_package_stage --
-- The temporary table a batch's package fields are COPYed into (dropped at commit)
CREATE TEMPORARY TABLE IF NOT EXISTS deb_package_stage (
    natural_key    text   NOT NULL,
    package        text   NOT NULL,
    version        text   NOT NULL,
    architecture   text   NOT NULL,
    source         text,
    relative_path  text   NOT NULL,
    sha256         text   NOT NULL,
    size           bigint NOT NULL,
    control        jsonb  NOT NULL
) ON COMMIT DROP

-- deb_clear_package_stage --
TRUNCATE pg_temp.deb_package_stage

-- deb_insert_packages --
-- The package fields of each content row of type $1 (the same for every unit of a natural key)
INSERT INTO deb_package (content_id, package, version, architecture, source, relative_path,
                         sha256, size, control)
SELECT DISTINCT ON (c.id) c.id, s.package, s.version, s.architecture, s.source,
       s.relative_path, s.sha256, s.size, s.control
  FROM pg_temp.deb_package_stage AS s
  JOIN content AS c ON c.pulp_type = $1 AND c.natural_key = s.natural_key
 ORDER BY c.id
    ON CONFLICT (content_id) DO NOTHING

-- deb_lazy_units --
-- Which of the Pulp 2 units $1 have a lazy catalog entry (an on_demand file can be fetched)
SELECT DISTINCT pulp2_unit_id
  FROM pulp2_lazy_catalog
 WHERE pulp2_unit_id = ANY($1::text[])

-- deb_insert_releases --
-- The release fields of content of type $1: $2 natural keys, $3 distributions, $4 codenames,
-- $5 suites
INSERT INTO deb_release (content_id, distribution, codename, suite)
SELECT DISTINCT ON (c.id) c.id, w.distribution, w.codename, w.suite
  FROM unnest($2::text[], $3::text[], $4::text[], $5::text[])
       AS w(natural_key, distribution, codename, suite)
  JOIN content AS c ON c.pulp_type = $1 AND c.natural_key = w.natural_key
 ORDER BY c.id
    ON CONFLICT (content_id) DO NOTHING

-- deb_staged_releases --
-- The migrated deb_release units of Pulp 2 repositories $1, with the release each became
SELECT pc.fields ->> 'repoid' AS repo_id, pc.fields ->> 'distribution' AS pulp2_distribution,
       pc.fields ->> 'codename' AS codename, r.content_id, r.distribution, r.suite
  FROM pulp2_content AS pc
  JOIN deb_release AS r ON r.content_id = pc.pulp3_content_id
 WHERE pc.content_type = 'deb_release' AND pc.is_migrated
   AND pc.fields ->> 'repoid' = ANY($1::text[])

-- deb_migrated_packages --
-- The Pulp 2 deb units among $1 that were migrated, with the content each became
SELECT pulp2_id, pulp3_content_id
  FROM pulp2_content
 WHERE content_type = 'deb' AND is_migrated AND pulp2_id = ANY($1::text[])

-- deb_insert_components --
-- The component fields of content of type $1: $2 natural keys, $3 releases, $4 names
INSERT INTO deb_release_component (content_id, release_id, component)
SELECT DISTINCT ON (c.id) c.id, w.release_id, w.component
  FROM unnest($2::text[], $3::bigint[], $4::text[]) AS w(natural_key, release_id, component)
  JOIN content AS c ON c.pulp_type = $1 AND c.natural_key = w.natural_key
 ORDER BY c.id
    ON CONFLICT (content_id) DO NOTHING

-- deb_insert_component_packages --
-- Component $2[i] (by natural key, of type $1) holds package $3[i]
INSERT INTO deb_package_release_component (component_id, package_id)
SELECT DISTINCT c.id, w.package_id
  FROM unnest($2::text[], $3::bigint[]) AS w(natural_key, package_id)
  JOIN content AS c ON c.pulp_type = $1 AND c.natural_key = w.natural_key
 ORDER BY c.id, w.package_id
    ON CONFLICT DO NOTHING

-- deb_version_releases --
-- The releases in the version of publication $1
SELECT r.content_id, r.distribution, r.codename, r.suite
  FROM pulp2to3_publication_content($1) AS pc
  JOIN deb_release AS r ON r.content_id = pc.content_id
 ORDER BY r.distribution, r.codename, r.content_id

-- deb_version_components --
-- The release components in the version of publication $1
SELECT rc.content_id, rc.release_id, rc.component
  FROM pulp2to3_publication_content($1) AS pc
  JOIN deb_release_component AS rc ON rc.content_id = pc.content_id
 ORDER BY rc.release_id, rc.component

-- deb_version_packages --
-- The packages of each release component in the version of publication $1 that the version
-- holds, with their file's content artifact: by release, component and architecture, each
-- index's packages together
WITH held AS MATERIALIZED (SELECT content_id FROM pulp2to3_publication_content($1))
SELECT rc.release_id, rc.component, p.package, p.version, p.architecture, p.source,
       p.relative_path, p.sha256, p.size, p.control, ca.id AS content_artifact_id
  FROM deb_release_component AS rc
  JOIN held AS hc ON hc.content_id = rc.content_id
  JOIN deb_package_release_component AS prc ON prc.component_id = rc.content_id
  JOIN held AS hp ON hp.content_id = prc.package_id
  JOIN deb_package AS p ON p.content_id = prc.package_id
  JOIN content_artifact AS ca ON ca.content_id = p.content_id
 ORDER BY rc.release_id, rc.component COLLATE "C", p.architecture COLLATE "C",
          p.package COLLATE "C", p.version COLLATE "C", p.content_id

-- deb_version_simple_packages --
-- Every package the version of publication $1 holds, with its file's content artifact, as
-- component $3 of release $2 (the simple layout's): by architecture, each index's together
WITH held AS MATERIALIZED (SELECT content_id FROM pulp2to3_publication_content($1))
SELECT $2::bigint AS release_id, $3::text AS component, p.package, p.version, p.architecture,
       p.source, p.relative_path, p.sha256, p.size, p.control, ca.id AS content_artifact_id
  FROM held AS h
  JOIN deb_package AS p ON p.content_id = h.content_id
  JOIN content_artifact AS ca ON ca.content_id = p.content_id
 ORDER BY p.architecture COLLATE "C", p.package COLLATE "C", p.version COLLATE "C",
          p.content_id

-- deb_publish_pool --
-- Publication $1 publishes content artifact $3[i] at pool path $2[i]
INSERT INTO published_artifact (publication_id, relative_path, content_artifact_id)
SELECT DISTINCT ON (w.relative_path) $1::bigint, w.relative_path, w.content_artifact_id
  FROM unnest($2::text[], $3::bigint[]) AS w(relative_path, content_artifact_id)
 ORDER BY w.relative_path, w.content_artifact_id DESC
    ON CONFLICT (publication_id, relative_path) DO NOTHING
