-- The RPM plugin's tables: packages with their repodata, the other RPM content as decoded
-- data, modules related to their packages; the staged erratum_pkglists by erratum; and what a
-- publication's version holds, as a function the ISO and RPM publishers share.
CREATE TABLE rpm_package (
    content_id     bigint  PRIMARY KEY REFERENCES content (id),
    name           text    NOT NULL,
    epoch          text    NOT NULL,
    version        text    NOT NULL,
    release        text    NOT NULL,
    arch           text    NOT NULL,
    checksum_type  text    NOT NULL,
    pkg_id         text    NOT NULL,
    location_href  text    NOT NULL,
    is_modular     boolean NOT NULL,
    primary_xml    text    NOT NULL,
    filelists_xml  text    NOT NULL,
    other_xml      text    NOT NULL
);

CREATE INDEX rpm_package_nevra ON rpm_package (name, version, release, arch, epoch);

CREATE TABLE rpm_metadata (
    content_id  bigint PRIMARY KEY REFERENCES content (id),
    kind        text   NOT NULL,
    data        jsonb  NOT NULL,
    snippet     text
);

CREATE TABLE rpm_module_package (
    module_id   bigint NOT NULL REFERENCES content (id),
    package_id  bigint NOT NULL REFERENCES content (id),
    PRIMARY KEY (module_id, package_id)
);

CREATE INDEX pulp2_content_pkglists ON pulp2_content ((fields ->> 'errata_id'))
    WHERE content_type = 'erratum_pkglists';

CREATE OR REPLACE FUNCTION pulp2to3_publication_content(publication bigint)
    RETURNS TABLE (content_id bigint) LANGUAGE sql STABLE AS $$
    SELECT rc.content_id
      FROM publication AS p
      JOIN repository_version AS v ON v.id = p.repository_version_id
      JOIN repository_content AS rc
        ON rc.repository_id = v.repository_id
       AND rc.version_added <= v.number
       AND (rc.version_removed IS NULL OR rc.version_removed > v.number)
     WHERE p.id = publication
$$;
