-- The set-based baseline (benchmarks/baseline.py): the work of an ISO migration with no queue
-- and no Python per row. Each section, named `-- name --`, is one statement run once.

-- lean_schema --
-- The target tables with only the columns and unique keys the upserts below need: no uuid
-- keys, no foreign keys, no other index
CREATE TABLE artifact (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, sha256 text NOT NULL UNIQUE,
    size bigint NOT NULL, file text NOT NULL);
CREATE TABLE content (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, pulp_type text NOT NULL,
    natural_key text NOT NULL, repo_key text, UNIQUE (pulp_type, natural_key));
CREATE TABLE file_content (
    content_id bigint PRIMARY KEY, relative_path text NOT NULL, digest text NOT NULL,
    size bigint NOT NULL);
CREATE TABLE content_artifact (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, content_id bigint NOT NULL,
    relative_path text NOT NULL, artifact_id bigint, UNIQUE (content_id, relative_path));
CREATE TABLE remote (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, pulp_type text NOT NULL,
    name text NOT NULL UNIQUE, url text NOT NULL, policy text NOT NULL);
CREATE TABLE remote_artifact (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, content_artifact_id bigint NOT NULL,
    remote_id bigint NOT NULL, url text NOT NULL, sha256 text, size bigint,
    UNIQUE (content_artifact_id, remote_id));
CREATE TABLE repository (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, pulp_type text NOT NULL,
    name text NOT NULL UNIQUE, remote_id bigint);
CREATE TABLE repository_version (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, repository_id bigint NOT NULL,
    number integer NOT NULL, UNIQUE (repository_id, number));
CREATE TABLE repository_content (
    repository_id bigint NOT NULL, content_id bigint NOT NULL, version_added integer NOT NULL,
    version_removed integer, PRIMARY KEY (repository_id, content_id, version_added));
CREATE TABLE publication (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, pulp_type text NOT NULL,
    repository_version_id bigint NOT NULL UNIQUE);
CREATE TABLE published_artifact (
    publication_id bigint NOT NULL, relative_path text NOT NULL,
    content_artifact_id bigint NOT NULL, PRIMARY KEY (publication_id, relative_path));
CREATE TABLE distribution (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, pulp_type text NOT NULL,
    name text NOT NULL UNIQUE, base_path text NOT NULL UNIQUE, publication_id bigint)

-- staging_tables --
-- What the baseline COPYs in: the staged Pulp 2 rows, each unit already mapped to its fields
CREATE TABLE baseline_unit (
    pulp2_id text NOT NULL, storage_path text, downloaded boolean NOT NULL,
    relative_path text NOT NULL, digest text NOT NULL, size bigint NOT NULL,
    natural_key text NOT NULL);
CREATE TABLE baseline_repo_content (
    pulp2_repo_id text NOT NULL, pulp2_unit_id text NOT NULL, created timestamptz);
CREATE TABLE baseline_lazy (pulp2_unit_id text NOT NULL, importer_id text NOT NULL, url text NOT NULL);
CREATE TABLE baseline_importer (object_id text NOT NULL, pulp2_repo_id text NOT NULL, config jsonb NOT NULL);
CREATE TABLE baseline_distributor (
    pulp2_repo_id text NOT NULL, distributor_id text NOT NULL, config jsonb NOT NULL)

-- index_staging --
-- The one key the joins of staged rows need (units by Pulp 2 id), and statistics
CREATE INDEX ON baseline_unit (pulp2_id);
ANALYZE baseline_unit, baseline_repo_content, baseline_lazy, baseline_importer, baseline_distributor

-- artifact --
INSERT INTO artifact (sha256, size, file)
SELECT DISTINCT ON (digest) digest, size, 'artifact/' || substr(digest, 1, 2) || '/' || substr(digest, 3)
  FROM baseline_unit WHERE downloaded ORDER BY digest
    ON CONFLICT (sha256) DO NOTHING

-- content --
INSERT INTO content (pulp_type, natural_key, repo_key)
SELECT DISTINCT ON (natural_key) 'file.file', natural_key, relative_path
  FROM baseline_unit ORDER BY natural_key
    ON CONFLICT (pulp_type, natural_key) DO NOTHING

-- file_content --
INSERT INTO file_content (content_id, relative_path, digest, size)
SELECT DISTINCT ON (c.id) c.id, u.relative_path, u.digest, u.size
  FROM baseline_unit AS u JOIN content AS c ON c.pulp_type = 'file.file' AND c.natural_key = u.natural_key
 ORDER BY c.id
    ON CONFLICT (content_id) DO NOTHING

-- content_artifact --
INSERT INTO content_artifact (content_id, relative_path, artifact_id)
SELECT DISTINCT ON (c.id) c.id, u.relative_path, a.id
  FROM baseline_unit AS u
  JOIN content AS c ON c.pulp_type = 'file.file' AND c.natural_key = u.natural_key
  LEFT JOIN artifact AS a ON u.downloaded AND a.sha256 = u.digest
 ORDER BY c.id, a.id NULLS LAST
    ON CONFLICT (content_id, relative_path) DO NOTHING

-- remote --
INSERT INTO remote (pulp_type, name, url, policy)
SELECT 'file.file', pulp2_repo_id, config ->> 'feed', coalesce(config ->> 'download_policy', 'immediate')
  FROM baseline_importer WHERE config ? 'feed' ORDER BY pulp2_repo_id
    ON CONFLICT (name) DO NOTHING

-- repository --
INSERT INTO repository (pulp_type, name, remote_id)
SELECT 'file.file', repos.pulp2_repo_id, r.id
  FROM (SELECT DISTINCT pulp2_repo_id FROM baseline_repo_content) AS repos
  LEFT JOIN remote AS r ON r.name = repos.pulp2_repo_id
 ORDER BY repos.pulp2_repo_id
    ON CONFLICT (name) DO NOTHING

-- remote_artifact --
INSERT INTO remote_artifact (content_artifact_id, remote_id, url, sha256, size)
SELECT DISTINCT ON (ca.id, r.id) ca.id, r.id, l.url, u.digest, u.size
  FROM baseline_lazy AS l
  JOIN baseline_importer AS i ON i.object_id = l.importer_id
  JOIN remote AS r ON r.name = i.pulp2_repo_id
  JOIN baseline_unit AS u ON u.pulp2_id = l.pulp2_unit_id
  JOIN content AS c ON c.pulp_type = 'file.file' AND c.natural_key = u.natural_key
  JOIN content_artifact AS ca ON ca.content_id = c.id
 ORDER BY ca.id, r.id
    ON CONFLICT (content_artifact_id, remote_id) DO NOTHING

-- repository_version --
INSERT INTO repository_version (repository_id, number)
SELECT r.id, n FROM repository AS r CROSS JOIN (VALUES (0), (1)) AS numbers (n)
 ORDER BY r.id, n
    ON CONFLICT (repository_id, number) DO NOTHING

-- repository_content --
INSERT INTO repository_content (repository_id, content_id, version_added)
SELECT DISTINCT ON (r.id, c.repo_key) r.id, c.id, 1
  FROM baseline_repo_content AS rc
  JOIN repository AS r ON r.name = rc.pulp2_repo_id
  JOIN baseline_unit AS u ON u.pulp2_id = rc.pulp2_unit_id
  JOIN content AS c ON c.pulp_type = 'file.file' AND c.natural_key = u.natural_key
 ORDER BY r.id, c.repo_key, rc.created DESC NULLS LAST, c.id DESC
    ON CONFLICT DO NOTHING

-- publication --
INSERT INTO publication (pulp_type, repository_version_id)
SELECT 'file.file', v.id FROM repository_version AS v WHERE v.number = 1 ORDER BY v.id
    ON CONFLICT (repository_version_id) DO NOTHING

-- published_artifact --
INSERT INTO published_artifact (publication_id, relative_path, content_artifact_id)
SELECT p.id, ca.relative_path, ca.id
  FROM publication AS p
  JOIN repository_version AS v ON v.id = p.repository_version_id
  JOIN repository_content AS rc ON rc.repository_id = v.repository_id AND rc.version_added <= v.number
  JOIN content_artifact AS ca ON ca.content_id = rc.content_id
    ON CONFLICT DO NOTHING

-- distribution --
INSERT INTO distribution (pulp_type, name, base_path, publication_id)
SELECT DISTINCT ON (coalesce(d.config ->> 'relative_url', d.pulp2_repo_id))
       'file.file', d.pulp2_repo_id || '-' || d.distributor_id,
       trim(BOTH '/' FROM coalesce(d.config ->> 'relative_url', d.pulp2_repo_id)), p.id
  FROM baseline_distributor AS d
  JOIN repository AS r ON r.name = d.pulp2_repo_id
  JOIN repository_version AS v ON v.repository_id = r.id AND v.number = 1
  JOIN publication AS p ON p.repository_version_id = v.id
 ORDER BY coalesce(d.config ->> 'relative_url', d.pulp2_repo_id), d.distributor_id
    ON CONFLICT DO NOTHING

-- files_to_link --
SELECT DISTINCT ON (digest) digest, storage_path FROM baseline_unit WHERE downloaded ORDER BY digest
