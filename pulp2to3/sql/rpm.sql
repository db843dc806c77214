-- Named queries of the RPM plugin: the fields of packages as a content batch writes them, and
-- what a publication of an RPM repository version reads back to write its repodata.

-- rpm_create_package_stage --
-- The temporary table a batch's package fields are COPYed into (dropped at commit): the columns
-- of rpm_package, by natural key instead of content id
CREATE TEMPORARY TABLE IF NOT EXISTS rpm_package_stage (natural_key text NOT NULL, LIKE rpm_package)
    ON COMMIT DROP

-- rpm_drop_stage_content_id --
-- (the content id is what the insert finds by natural key)
ALTER TABLE pg_temp.rpm_package_stage DROP COLUMN IF EXISTS content_id

-- rpm_clear_package_stage --
-- Empty the stage table (a second batch in the same transaction)
TRUNCATE pg_temp.rpm_package_stage

-- rpm_insert_packages --
-- The package fields of each content row (the same for every unit of a natural key), by the
-- content id the batch's content stage resolved
INSERT INTO rpm_package (content_id, name, epoch, version, release, arch, checksum_type, pkg_id,
                         location_href, is_modular, primary_xml, filelists_xml, other_xml)
SELECT DISTINCT ON (c.content_id) c.content_id, s.name, s.epoch, s.version, s.release, s.arch, s.checksum_type,
       s.pkg_id, s.location_href, s.is_modular, s.primary_xml, s.filelists_xml, s.other_xml
  FROM pg_temp.rpm_package_stage AS s
  JOIN pg_temp.content_file_stage AS c ON c.natural_key = s.natural_key
 ORDER BY c.content_id
    ON CONFLICT (content_id) DO NOTHING

-- rpm_version_package_count --
-- How many packages the version of publication $1 holds, and their most common checksum type
SELECT count(*) AS packages, mode() WITHIN GROUP (ORDER BY p.checksum_type) AS checksum_type
  FROM pulp2to3_publication_content($1) AS pc
  JOIN rpm_package AS p ON p.content_id = pc.content_id

-- rpm_version_packages --
-- The packages of the version of publication $1, as repodata needs them, in NEVRA order
SELECT p.name, p.epoch, p.version, p.release, p.arch, p.checksum_type, p.pkg_id,
       p.location_href, p.is_modular, p.primary_xml, p.filelists_xml, p.other_xml
  FROM pulp2to3_publication_content($1) AS pc
  JOIN rpm_package AS p ON p.content_id = pc.content_id
 ORDER BY p.name, p.epoch, p.version, p.release, p.arch, p.pkg_id

-- rpm_create_metadata_stage --
-- The temporary table a batch's other RPM content is COPYed into (dropped at commit)
CREATE TEMPORARY TABLE IF NOT EXISTS rpm_metadata_stage (
    natural_key  text  NOT NULL,
    kind         text  NOT NULL,
    data         jsonb NOT NULL,
    snippet      text
) ON COMMIT DROP

-- rpm_clear_metadata_stage --
-- Empty the stage table (a second batch in the same transaction)
TRUNCATE pg_temp.rpm_metadata_stage

-- rpm_insert_metadata --
-- The decoded data of each content row, by the content id the batch's content stage resolved
INSERT INTO rpm_metadata (content_id, kind, data, snippet)
SELECT DISTINCT ON (c.content_id) c.content_id, s.kind, s.data, s.snippet
  FROM pg_temp.rpm_metadata_stage AS s
  JOIN pg_temp.content_file_stage AS c ON c.natural_key = s.natural_key
 ORDER BY c.content_id
    ON CONFLICT (content_id) DO NOTHING

-- rpm_pkglists --
-- The staged erratum_pkglists documents of the errata $1, in dump order per erratum
SELECT fields ->> 'errata_id' AS errata_id, fields
  FROM pulp2_content
 WHERE content_type = 'erratum_pkglists' AND fields ->> 'errata_id' = ANY($1::text[])
 ORDER BY fields ->> 'errata_id', id

-- rpm_absent_nevras --
-- Which of the NEVRAs ($1 names, $2 epochs, $3 versions, $4 releases, $5 arches) no package has
SELECT w.name, w.epoch, w.version, w.release, w.arch
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
       AS w(name, epoch, version, release, arch)
 WHERE NOT EXISTS (SELECT FROM rpm_package AS p
                    WHERE (p.name, p.version, p.release, p.arch, p.epoch)
                        = (w.name, w.version, w.release, w.arch, w.epoch))

-- rpm_link_module_packages --
-- Relate module $1[i] (by natural key, type $7) to the packages of NEVRA ($2..$6)[i]
INSERT INTO rpm_module_package (module_id, package_id)
SELECT DISTINCT m.id, p.content_id
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
       AS w(module_key, name, epoch, version, release, arch)
  JOIN content AS m ON m.pulp_type = $7 AND m.natural_key = w.module_key
  JOIN rpm_package AS p
    ON (p.name, p.version, p.release, p.arch, p.epoch)
     = (w.name, w.version, w.release, w.arch, w.epoch)
 ORDER BY m.id, p.content_id
    ON CONFLICT DO NOTHING

-- rpm_absent_groups --
-- Which of the group ids $2[i] of Pulp 2 repository $1[i] no migrated package_group unit has
-- (equal groups of several repositories are one content: the Pulp 2 units say whose they are)
SELECT w.repo_id, w.group_id
  FROM unnest($1::text[], $2::text[]) AS w(repo_id, group_id)
 WHERE NOT EXISTS (SELECT FROM pulp2_content AS pc
                    WHERE pc.content_type = 'package_group' AND pc.is_migrated
                      AND pc.fields ->> 'repo_id' = w.repo_id
                      AND pc.fields ->> 'package_group_id' = w.group_id)

-- rpm_publish_files --
-- What publications $1 publish of their version's files: the packages at their location, and
-- the kickstart tree's .treeinfo and images (metadata files go into repodata/ instead)
INSERT INTO published_artifact (publication_id, relative_path, content_artifact_id)
SELECT DISTINCT ON (p.id, ca.relative_path) p.id, ca.relative_path, ca.id
  FROM unnest($1::bigint[]) AS p(id)
 CROSS JOIN LATERAL pulp2to3_publication_content(p.id) AS pc
  JOIN content_artifact AS ca ON ca.content_id = pc.content_id
 WHERE EXISTS (SELECT FROM rpm_package AS pkg WHERE pkg.content_id = pc.content_id)
    OR EXISTS (SELECT FROM rpm_metadata AS m
                WHERE m.content_id = pc.content_id AND m.kind = 'distribution')
 ORDER BY p.id, ca.relative_path, ca.content_id DESC
    ON CONFLICT (publication_id, relative_path) DO NOTHING

-- rpm_version_metadata --
-- The content of kind $2 in the version of publication $1: data and snippet, with the file of
-- its artifact if it has one
SELECT m.data, m.snippet, a.file
  FROM pulp2to3_publication_content($1) AS pc
  JOIN rpm_metadata AS m ON m.content_id = pc.content_id
  LEFT JOIN content_artifact AS ca ON ca.content_id = m.content_id
  LEFT JOIN artifact AS a ON a.id = ca.artifact_id
 WHERE m.kind = $2
 ORDER BY m.content_id

-- rpm_version_advisories --
-- The advisories in the version of publication $1, each with the NEVRAs of its collections'
-- packages that the version holds
WITH held AS MATERIALIZED (
    SELECT p.name, p.epoch, p.version, p.release, p.arch
      FROM pulp2to3_publication_content($1) AS pc
      JOIN rpm_package AS p ON p.content_id = pc.content_id
)
SELECT m.data,
       (SELECT coalesce(jsonb_agg(DISTINCT jsonb_build_array(
                   k.package ->> 'name', k.package ->> 'epoch', k.package ->> 'version',
                   k.package ->> 'release', k.package ->> 'arch')), '[]'::jsonb)
          FROM jsonb_array_elements(m.data -> 'collections') AS c(collection)
         CROSS JOIN jsonb_array_elements(c.collection -> 'packages') AS k(package)
         WHERE EXISTS (SELECT FROM held AS h
                        WHERE (h.name, h.epoch, h.version, h.release, h.arch)
                            = (k.package ->> 'name', k.package ->> 'epoch',
                               k.package ->> 'version', k.package ->> 'release',
                               k.package ->> 'arch'))) AS held
  FROM pulp2to3_publication_content($1) AS pc
  JOIN rpm_metadata AS m ON m.content_id = pc.content_id
 WHERE m.kind = 'erratum'
 ORDER BY m.content_id
