-- Resets (POST …/reset/): what one plugin's migrations made, and its Pulp 2 mapping, removed,
-- in an order that leaves no row pointing at a removed one.

-- insert_reset --
-- A reset of a plan, waiting (the unique partial index refuses it while anything is unfinished)
INSERT INTO migration (plan_id, kind) VALUES ($1, 'reset') RETURNING id

-- reset_distributions --
-- The plugin's distributions ($1: their type)
DELETE FROM distribution WHERE pulp_type = $1

-- reset_publications --
-- The plugin's publications ($1: their type) and what they publish (published_metadata goes by
-- ON DELETE CASCADE; published_artifact has no foreign key)
WITH publications AS (
    SELECT id FROM publication WHERE pulp_type = $1
), files AS (
    DELETE FROM published_artifact WHERE publication_id IN (SELECT id FROM publications)
)
DELETE FROM publication WHERE id IN (SELECT id FROM publications)

-- reset_repository_versions --
-- The versions of the plugin's repositories ($1: their type), what they hold and their origins
WITH repositories AS (
    SELECT id FROM repository WHERE pulp_type = $1
), origins AS (
    DELETE FROM repository_version_origin WHERE repository_id IN (SELECT id FROM repositories)
), held AS (
    DELETE FROM repository_content WHERE repository_id IN (SELECT id FROM repositories)
)
DELETE FROM repository_version WHERE repository_id IN (SELECT id FROM repositories)

-- reset_repositories --
-- The plugin's repositories ($1: their type), once their versions are gone
DELETE FROM repository WHERE pulp_type = $1

-- reset_remotes --
-- The plugin's remotes ($1: their type) and the remote artifacts they offer
WITH remotes AS (
    SELECT id FROM remote WHERE pulp_type = $1
), offered AS (
    DELETE FROM remote_artifact WHERE remote_id IN (SELECT id FROM remotes)
)
DELETE FROM remote WHERE id IN (SELECT id FROM remotes)

-- reset_content --
-- The plugin's content ($1: its types), its content artifacts and their remote artifacts (its
-- type's own rows go by ON DELETE CASCADE)
WITH gone AS (
    DELETE FROM content WHERE pulp_type = ANY($1::text[]) RETURNING id
), artifacts AS (
    DELETE FROM content_artifact WHERE content_id IN (SELECT id FROM gone) RETURNING id
)
DELETE FROM remote_artifact WHERE content_artifact_id IN (SELECT id FROM artifacts)

-- reset_unreferenced_artifacts --
-- Artifacts that no content and no publication uses any more; their files, for the caller to
-- remove once this commits
DELETE FROM artifact AS a
 WHERE NOT EXISTS (SELECT FROM content_artifact AS ca WHERE ca.artifact_id = a.id)
   AND NOT EXISTS (SELECT FROM published_metadata AS pm WHERE pm.artifact_id = a.id)
RETURNING a.file

-- reset_pulp2_repositories --
-- The plugin's Pulp 2 repositories ($1: their type), their importers, distributors and units
WITH gone AS (
    DELETE FROM pulp2_repository WHERE pulp2_repo_type = $1 RETURNING pulp2_repo_id
), importers AS (
    DELETE FROM pulp2_importer AS i USING gone WHERE i.pulp2_repo_id = gone.pulp2_repo_id
), distributors AS (
    DELETE FROM pulp2_distributor AS d USING gone WHERE d.pulp2_repo_id = gone.pulp2_repo_id
)
DELETE FROM pulp2_repo_content AS rc USING gone WHERE rc.pulp2_repo_id = gone.pulp2_repo_id

-- reset_pulp2_content --
-- The plugin's staged Pulp 2 units ($1: their types) and their lazy catalog entries
WITH catalog AS (
    DELETE FROM pulp2_lazy_catalog WHERE unit_type_id = ANY($1::text[])
)
DELETE FROM pulp2_content WHERE content_type = ANY($1::text[])
