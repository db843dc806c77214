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
-- The package fields of each content row of type $1 (the same for every unit of a natural key)
INSERT INTO rpm_package (content_id, name, epoch, version, release, arch, checksum_type, pkg_id,
                         location_href, is_modular, primary_xml, filelists_xml, other_xml)
SELECT DISTINCT ON (c.id) c.id, s.name, s.epoch, s.version, s.release, s.arch, s.checksum_type,
       s.pkg_id, s.location_href, s.is_modular, s.primary_xml, s.filelists_xml, s.other_xml
  FROM pg_temp.rpm_package_stage AS s
  JOIN content AS c ON c.pulp_type = $1 AND c.natural_key = s.natural_key
 ORDER BY c.id
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
