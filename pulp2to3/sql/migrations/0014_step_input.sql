-- The repository steps compute their input once per migration, set-based, into unlogged tables
-- (issue 11: per row, index probes into tables far bigger than the server's buffers were most
-- of these steps' time at 1,000,000 units). pulp2to3_version_content takes every Pulp 2
-- repository at once.

DROP FUNCTION IF EXISTS pulp2to3_version_content(text);

CREATE OR REPLACE FUNCTION pulp2to3_version_content(repos text[])
    RETURNS TABLE (pulp2_repo_id text, content_id bigint) LANGUAGE sql STABLE AS $$
    SELECT DISTINCT ON (rc.pulp2_repo_id, c.pulp_type, coalesce(c.repo_key, c.natural_key))
           rc.pulp2_repo_id, c.id
      FROM (SELECT DISTINCT repo FROM unnest(repos) AS r(repo)) AS w
      JOIN pulp2_repo_content AS rc ON rc.pulp2_repo_id = w.repo
      JOIN pulp2_content AS pc ON pc.pulp2_id = rc.pulp2_unit_id
      JOIN content AS c ON c.id = pc.pulp3_content_id
     ORDER BY rc.pulp2_repo_id, c.pulp_type, coalesce(c.repo_key, c.natural_key),
              rc.created DESC NULLS LAST, pc.last_updated DESC, c.id DESC
$$;

CREATE UNLOGGED TABLE IF NOT EXISTS step_input (
    step_code     text PRIMARY KEY,
    migration_id  uuid NOT NULL,
    -- What the input was computed for (a digest of the plan's part the step gives it).
    arguments     text NOT NULL
);

-- create_repositories: the remote artifacts each planned importer's lazy catalog gives.
CREATE UNLOGGED TABLE IF NOT EXISTS remote_artifact_input (
    importer_id          text   NOT NULL,
    content_artifact_id  bigint NOT NULL,
    url                  text   NOT NULL,
    sha256               text,
    size                 bigint
);
CREATE INDEX IF NOT EXISTS remote_artifact_input_importer
    ON remote_artifact_input (importer_id, content_artifact_id);

-- create_repo_versions: what a version made from each planned Pulp 2 repository holds.
CREATE UNLOGGED TABLE IF NOT EXISTS version_content_input (
    pulp2_repo_id  text   NOT NULL,
    content_id     bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS version_content_input_repository
    ON version_content_input (pulp2_repo_id);

-- create_publications: the files a publication of each version to publish serves (with the
-- sha256 and size of file content, for PULP_MANIFEST).
CREATE UNLOGGED TABLE IF NOT EXISTS published_file_input (
    version_id           bigint NOT NULL,
    relative_path        text   NOT NULL,
    content_artifact_id  bigint NOT NULL,
    sha256               text,
    size                 bigint
);
CREATE INDEX IF NOT EXISTS published_file_input_version ON published_file_input (version_id);
