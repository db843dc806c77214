-- The whole schema of pulp2to3 (Procrastinate's own tables are installed beside it by
-- `pulp2to3 init-db`), as `init-db` installs it in a new database. A change to it comes with a
-- numbered file in pulp2to3/sql/migrations/ that makes the same change to a database installed
-- before, in the same commit (docs/design.md, "Schema changes").
--
-- Keys: bigint identity inside; a UUID (`pulp_id`) only on rows whose href the API shows.
-- Foreign keys guard the small tables; the big per-unit tables (memberships, content
-- artifacts, remote artifacts) are written set-based by code that joins on the keys, and keep
-- only the unique keys their upserts need: at millions of rows each extra index or FK check
-- is what dominates the write time.

-- A time-ordered UUID (version 7, RFC 9562: 48 bits of Unix time in milliseconds, then random
-- bits), as pulpcore gives its pulp_ids: rows inserted together get neighbouring keys, so the
-- unique index on a pulp_id grows at its right edge instead of at a random page of an index
-- larger than the server's cache (2 million inserts into a table of 2 million took 38 s against
-- 94 s with gen_random_uuid(): docs/benchmarks.md).
CREATE OR REPLACE FUNCTION pulp2to3_uuid7() RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    SELECT encode(
               set_bit(set_bit(  -- version 4's bits 0100 become 0111
                   overlay(uuid_send(gen_random_uuid())
                           PLACING substring(int8send(
                               (extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                           FROM 1 FOR 6),
                   52, 1), 53, 1),
               'hex')::uuid
$$;

-- Which files of pulp2to3/sql/migrations/ the database has had: `init-db` applies the others.
CREATE TABLE IF NOT EXISTS schema_migration (
    name        text        PRIMARY KEY,
    applied_at  timestamptz NOT NULL DEFAULT now()
);

-- ---------------------------------------------------------------------------------------------
-- The migration's own state
-- ---------------------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS migration_plan (
    id          uuid        PRIMARY KEY DEFAULT pulp2to3_uuid7(),
    created_at  timestamptz NOT NULL DEFAULT now(),
    plan        jsonb       NOT NULL
);

CREATE TABLE IF NOT EXISTS migration (
    id              uuid        PRIMARY KEY DEFAULT pulp2to3_uuid7(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    plan_id         uuid        NOT NULL REFERENCES migration_plan (id) ON DELETE CASCADE,
    -- The Procrastinate job id of the migration task that planned this migration.
    task_job_id     bigint,
    status          text        NOT NULL DEFAULT 'waiting' CHECK (status IN (
                        'waiting', 'running', 'canceled', 'pausing', 'paused', 'completed',
                        'failed')),
    validate        boolean     NOT NULL DEFAULT false,
    dry_run         boolean     NOT NULL DEFAULT false,
    -- false: a content step with a missing or corrupt downloaded file fails at its end.
    skip_corrupted  boolean     NOT NULL DEFAULT false,
    -- A reset (POST …/reset/) is recorded as a migration of its plan, so that the one-unfinished
    -- index below orders runs and resets too.
    kind            text        NOT NULL DEFAULT 'migration' CHECK (kind IN ('migration', 'reset')),
    -- The plan with "every repository of this plugin" replaced by the repositories it meant.
    expanded_plan   jsonb,
    started_at      timestamptz,
    finished_at     timestamptz,
    error           text
);

-- At most one unfinished migration at a time: concurrent runs race on this index, and the
-- database, not a read-then-write, decides which one wins.
CREATE UNIQUE INDEX IF NOT EXISTS migration_one_unfinished
    ON migration ((true))
    WHERE status IN ('waiting', 'running', 'pausing', 'paused');

CREATE INDEX IF NOT EXISTS migration_by_plan ON migration (plan_id);

CREATE TABLE IF NOT EXISTS migration_step (
    migration_id uuid        NOT NULL REFERENCES migration (id) ON DELETE CASCADE,
    position     integer     NOT NULL,
    code         text        NOT NULL,
    description  text        NOT NULL,
    status       text        NOT NULL DEFAULT 'waiting' CHECK (status IN (
                     'waiting', 'running', 'completed', 'failed', 'canceled', 'skipped')),
    total        bigint      NOT NULL DEFAULT 0 CHECK (total >= 0),
    started_at   timestamptz,
    finished_at  timestamptz,
    -- The codes of the steps that must complete before this one starts (all before it).
    needs        text[]      NOT NULL DEFAULT '{}',
    PRIMARY KEY (migration_id, position),
    UNIQUE (migration_id, code)
);

-- One row per queued job of a migration (batches, the coordinator, the migration task), so
-- that a cancel finds them all and the report lists a step's tasks.
CREATE TABLE IF NOT EXISTS migration_task (
    job_id             bigint      PRIMARY KEY,
    migration_id       uuid        NOT NULL REFERENCES migration (id) ON DELETE CASCADE,
    step_code          text,
    batch_key          text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    -- Procrastinate keeps no exception text: the task middleware records it here.
    worker_name        text,
    error_description  text,
    error_traceback    text,
    created_resources  jsonb       NOT NULL DEFAULT '[]'
);

CREATE INDEX IF NOT EXISTS migration_task_step ON migration_task (migration_id, step_code);

-- A task's state as the API shows it, from its Procrastinate job's status.
CREATE OR REPLACE FUNCTION pulp2to3_task_state(job_status text, abort_requested boolean)
    RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN job_status = 'todo' THEN 'waiting'
        WHEN job_status = 'doing' AND abort_requested THEN 'canceling'
        WHEN job_status = 'doing' THEN 'running'
        WHEN job_status = 'succeeded' THEN 'completed'
        WHEN job_status = 'failed' THEN 'failed'
        ELSE 'canceled'
    END
$$;

-- Counters of a step, one row per batch, written in the same transaction as the batch's work.
-- A retried batch overwrites its row instead of adding to it, so nothing counts twice.
CREATE TABLE IF NOT EXISTS migration_batch_progress (
    migration_id  uuid    NOT NULL REFERENCES migration (id) ON DELETE CASCADE,
    step_code  text    NOT NULL,
    batch_key  text    NOT NULL,
    done       bigint  NOT NULL DEFAULT 0 CHECK (done >= 0),
    failed     bigint  NOT NULL DEFAULT 0 CHECK (failed >= 0),
    -- When the batch last finished (the database's clock): the samples of rates and ETAs.
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (migration_id, step_code, batch_key)
);

-- Each time a migration was paused (until resumed; NULL while it still is): paused time is
-- left out of rates.
CREATE TABLE IF NOT EXISTS migration_pause (
    migration_id  uuid         NOT NULL REFERENCES migration (id) ON DELETE CASCADE,
    paused_at     timestamptz  NOT NULL,
    resumed_at    timestamptz,
    PRIMARY KEY (migration_id, paused_at)
);

-- Per-unit failures (a missing file, a path outside the root): counted and named, never fatal.
CREATE TABLE IF NOT EXISTS migration_unit_failure (
    migration_id  uuid  NOT NULL REFERENCES migration (id) ON DELETE CASCADE,
    step_code  text  NOT NULL,
    batch_key  text  NOT NULL,
    pulp2_id   text  NOT NULL,
    reason     text  NOT NULL,
    PRIMARY KEY (migration_id, step_code, pulp2_id)
);

-- ---------------------------------------------------------------------------------------------
-- Pulp 2 staging (what premigrate read from the dump) and the mapping to what it became
-- ---------------------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS pulp2_repository (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pulp_id              uuid        NOT NULL UNIQUE DEFAULT pulp2to3_uuid7(),
    pulp2_object_id      text        NOT NULL UNIQUE,
    pulp2_repo_id        text        NOT NULL UNIQUE,
    pulp2_repo_type      text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    content_unit_counts  jsonb       NOT NULL DEFAULT '{}',
    last_unit_added      timestamptz,
    last_unit_removed    timestamptz,
    is_migrated          boolean     NOT NULL DEFAULT false,
    not_in_plan          boolean     NOT NULL DEFAULT false,
    pulp3_repository_id  bigint
);

CREATE TABLE IF NOT EXISTS pulp2_importer (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pulp2_object_id   text        NOT NULL UNIQUE,
    pulp2_repo_id     text        NOT NULL UNIQUE,
    importer_type_id  text        NOT NULL,
    config            jsonb       NOT NULL DEFAULT '{}',
    last_updated      timestamptz,
    is_migrated       boolean     NOT NULL DEFAULT false,
    pulp3_remote_id   bigint
);

CREATE TABLE IF NOT EXISTS pulp2_distributor (
    id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pulp2_object_id        text        NOT NULL UNIQUE,
    pulp2_repo_id          text        NOT NULL,
    distributor_id         text        NOT NULL,
    distributor_type_id    text        NOT NULL,
    config                 jsonb       NOT NULL DEFAULT '{}',
    auto_publish           boolean     NOT NULL DEFAULT false,
    last_publish           timestamptz,
    last_updated           timestamptz,
    is_migrated            boolean     NOT NULL DEFAULT false,
    pulp3_publication_id   bigint,
    pulp3_distribution_id  bigint,
    UNIQUE (pulp2_repo_id, distributor_id)
);

CREATE TABLE IF NOT EXISTS pulp2_repo_content (
    pulp2_repo_id  text         NOT NULL,
    pulp2_unit_id  text         NOT NULL,
    unit_type_id   text         NOT NULL,
    created        timestamptz,
    updated        timestamptz,
    PRIMARY KEY (pulp2_repo_id, pulp2_unit_id)
);

CREATE TABLE IF NOT EXISTS pulp2_content (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pulp_id            uuid     NOT NULL UNIQUE DEFAULT pulp2to3_uuid7(),
    pulp2_id           text     NOT NULL UNIQUE,
    content_type       text     NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    last_updated       bigint   NOT NULL DEFAULT 0,
    storage_path       text,
    downloaded         boolean  NOT NULL DEFAULT false,
    -- The unit's own fields (the per-plugin mapping reads them; nothing else does).
    fields             jsonb    NOT NULL DEFAULT '{}',
    is_migrated        boolean  NOT NULL DEFAULT false,
    pulp3_content_id   bigint
-- Half of each page is left free: a content batch marks its units migrated in place (a HOT
-- update: no new entry in any of the table's indexes), where a full page moves the new row
-- version to another page and adds it to every index, random text and uuid keys included, a
-- cost that grows with the table.
) WITH (fillfactor = 50);

CREATE INDEX IF NOT EXISTS pulp2_content_type ON pulp2_content (content_type, id);

-- Which repositories hold a unit (the pulp2content view's not_in_plan filter).
CREATE INDEX IF NOT EXISTS pulp2_repo_content_unit ON pulp2_repo_content (pulp2_unit_id);

CREATE TABLE IF NOT EXISTS pulp2_lazy_catalog (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pulp2_unit_id       text  NOT NULL,
    unit_type_id        text  NOT NULL,
    importer_id         text  NOT NULL,
    url                 text  NOT NULL,
    path                text,
    checksum            text,
    checksum_algorithm  text,
    revision            integer NOT NULL DEFAULT 0,
    UNIQUE (pulp2_unit_id, importer_id, url)
);

-- The catalog entries of one importer (the repositories step makes its remote artifacts).
CREATE INDEX IF NOT EXISTS pulp2_lazy_catalog_importer ON pulp2_lazy_catalog (importer_id);

-- ---------------------------------------------------------------------------------------------
-- premigrate's load tables: each part of the dump (a batch) COPYs its rows here and commits;
-- the part that finds every part loaded merges them into the staging tables above and empties
-- them. `part` then `seq` keep the dump order, so that of two documents with the same key the
-- later one wins, the same way every time; a part's COPY leaves `part` to its default, the
-- setting its transaction made (no Python per row). Unlogged, for speed (WAL made the load
-- 1.6x slower): what a crash loses, the merge loads again (premigrate_load_part_present).
-- ---------------------------------------------------------------------------------------------

CREATE UNLOGGED TABLE IF NOT EXISTS premigrate_load_repository (
    part                 integer     NOT NULL DEFAULT current_setting('premigrate.part')::integer,
    seq                  bigint      GENERATED ALWAYS AS IDENTITY,
    pulp2_object_id      text        NOT NULL,
    pulp2_repo_id        text        NOT NULL,
    pulp2_repo_type      text,
    content_unit_counts  jsonb       NOT NULL,
    last_unit_added      timestamptz,
    last_unit_removed    timestamptz
);

CREATE UNLOGGED TABLE IF NOT EXISTS premigrate_load_importer (
    part              integer     NOT NULL DEFAULT current_setting('premigrate.part')::integer,
    seq               bigint      GENERATED ALWAYS AS IDENTITY,
    pulp2_object_id   text        NOT NULL,
    pulp2_repo_id     text        NOT NULL,
    importer_type_id  text        NOT NULL,
    config            jsonb       NOT NULL,
    last_updated      timestamptz
);

CREATE UNLOGGED TABLE IF NOT EXISTS premigrate_load_distributor (
    part                 integer     NOT NULL DEFAULT current_setting('premigrate.part')::integer,
    seq                  bigint      GENERATED ALWAYS AS IDENTITY,
    pulp2_object_id      text        NOT NULL,
    pulp2_repo_id        text        NOT NULL,
    distributor_id       text        NOT NULL,
    distributor_type_id  text        NOT NULL,
    config               jsonb       NOT NULL,
    auto_publish         boolean     NOT NULL,
    last_publish         timestamptz,
    last_updated         timestamptz
);

CREATE UNLOGGED TABLE IF NOT EXISTS premigrate_load_repo_content (
    part           integer     NOT NULL DEFAULT current_setting('premigrate.part')::integer,
    seq            bigint      GENERATED ALWAYS AS IDENTITY,
    pulp2_repo_id  text        NOT NULL,
    pulp2_unit_id  text        NOT NULL,
    unit_type_id   text        NOT NULL,
    created        timestamptz,
    updated        timestamptz
);

CREATE UNLOGGED TABLE IF NOT EXISTS premigrate_load_content (
    part          integer  NOT NULL DEFAULT current_setting('premigrate.part')::integer,
    seq           bigint   GENERATED ALWAYS AS IDENTITY,
    pulp2_id      text     NOT NULL,
    content_type  text     NOT NULL,
    last_updated  bigint   NOT NULL,
    storage_path  text,
    downloaded    boolean  NOT NULL,
    fields        text     NOT NULL  -- JSON text, cast to jsonb by the merge
);

CREATE UNLOGGED TABLE IF NOT EXISTS premigrate_load_lazy_catalog (
    part                integer  NOT NULL DEFAULT current_setting('premigrate.part')::integer,
    seq                 bigint   GENERATED ALWAYS AS IDENTITY,
    pulp2_unit_id       text     NOT NULL,
    unit_type_id        text     NOT NULL,
    importer_id         text     NOT NULL,
    url                 text     NOT NULL,
    path                text,
    checksum            text,
    checksum_algorithm  text,
    revision            integer  NOT NULL
);

-- The parts loaded so far, of how many, and their collections (NULL: the whole dump). Logged:
-- a part whose rows the unlogged tables lost is known, and loaded again by the merge.
CREATE TABLE IF NOT EXISTS premigrate_load_part (
    part         integer PRIMARY KEY,
    parts        integer NOT NULL,
    collections  text[]
);

-- The parts whose rows the load tables hold: emptied with them when PostgreSQL recovers from
-- a crash.
CREATE UNLOGGED TABLE IF NOT EXISTS premigrate_load_part_present (
    part  integer PRIMARY KEY
);

-- The key ranges the premigrate_merge step has merged, of how many: the last range to finish
-- empties the load tables, and a range run again after it committed merges nothing twice.
CREATE TABLE IF NOT EXISTS premigrate_merge_range (
    range   integer PRIMARY KEY,
    ranges  integer NOT NULL
);

-- ---------------------------------------------------------------------------------------------
-- The Pulp 3-shaped target
-- ---------------------------------------------------------------------------------------------

-- One artifact per sha256, however many units or repositories use the file.
CREATE TABLE IF NOT EXISTS artifact (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sha256      text        NOT NULL UNIQUE CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size        bigint      NOT NULL CHECK (size >= 0),
    -- Path relative to the media root.
    file        text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per content unit; `natural_key` is the canonical text of the type's natural key, so
-- two Pulp 2 units with the same key become one row. `repo_key` is the text of the type's
-- repository key (Pulp 3's repo_key_fields; a file's relative path): a repository version
-- holds one content per type and repository key. Null: the type has none.
CREATE TABLE IF NOT EXISTS content (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pulp_id      uuid        NOT NULL UNIQUE DEFAULT pulp2to3_uuid7(),
    pulp_type    text        NOT NULL,
    natural_key  text        NOT NULL,
    repo_key     text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (pulp_type, natural_key)
);

-- The fields of file content (Pulp 3's file.file), one row per content row of that type.
CREATE TABLE IF NOT EXISTS file_content (
    content_id     bigint PRIMARY KEY REFERENCES content (id) ON DELETE CASCADE,
    relative_path  text   NOT NULL,
    digest         text   NOT NULL,
    size           bigint NOT NULL
);

-- The fields of RPM packages (Pulp 3's rpm.package), one row per content row of that type: the
-- keys, and the package's primary, filelists and other XML as createrepo_c writes them, which
-- the publisher streams from here into repodata (the dump is not read again).
CREATE TABLE IF NOT EXISTS rpm_package (
    content_id     bigint  PRIMARY KEY REFERENCES content (id) ON DELETE CASCADE,
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

-- Index the packages by NEVRA: a module's artifacts and an advisory's packages name them so.
CREATE INDEX IF NOT EXISTS rpm_package_nevra ON rpm_package (name, version, release, arch, epoch);

-- The other RPM content (advisories, modules and their defaults, comps entries, metadata
-- files): `kind` says which; `data` is the decoded object as JSON (plugins/rpm/stored.py),
-- `snippet` a module's or defaults' YAML document.
CREATE TABLE IF NOT EXISTS rpm_metadata (
    content_id  bigint PRIMARY KEY REFERENCES content (id) ON DELETE CASCADE,
    kind        text   NOT NULL,
    data        jsonb  NOT NULL,
    snippet     text
);

-- A module's artifacts: the packages its NEVRA strings name.
CREATE TABLE IF NOT EXISTS rpm_module_package (
    module_id   bigint NOT NULL REFERENCES content (id) ON DELETE CASCADE,
    package_id  bigint NOT NULL REFERENCES content (id) ON DELETE CASCADE,
    PRIMARY KEY (module_id, package_id)
);

-- The staged erratum_pkglists documents of one erratum (an erratum batch reads them).
CREATE INDEX IF NOT EXISTS pulp2_content_pkglists ON pulp2_content ((fields ->> 'errata_id'))
    WHERE content_type = 'erratum_pkglists';

-- Debian packages (Pulp 3's deb.package): the key fields, and every control field of the
-- package, in order, as [name, value] pairs that the publisher writes back into Packages.
CREATE TABLE IF NOT EXISTS deb_package (
    content_id     bigint PRIMARY KEY REFERENCES content (id) ON DELETE CASCADE,
    package        text   NOT NULL,
    version        text   NOT NULL,
    architecture   text   NOT NULL,
    source         text,
    relative_path  text   NOT NULL,
    sha256         text   NOT NULL,
    size           bigint NOT NULL,
    control        jsonb  NOT NULL
);

-- Debian releases (deb.release): what a dists/<distribution>/ folder publishes.
CREATE TABLE IF NOT EXISTS deb_release (
    content_id    bigint PRIMARY KEY REFERENCES content (id) ON DELETE CASCADE,
    distribution  text   NOT NULL,
    codename      text   NOT NULL,
    suite         text
);

-- A component of a release (deb.release_component).
CREATE TABLE IF NOT EXISTS deb_release_component (
    content_id  bigint PRIMARY KEY REFERENCES content (id) ON DELETE CASCADE,
    release_id  bigint NOT NULL REFERENCES content (id) ON DELETE CASCADE,
    component   text   NOT NULL
);

-- The packages of each release component (pulp_deb's package release components); a
-- publication publishes those its version holds.
CREATE TABLE IF NOT EXISTS deb_package_release_component (
    component_id  bigint NOT NULL REFERENCES content (id) ON DELETE CASCADE,
    package_id    bigint NOT NULL REFERENCES content (id) ON DELETE CASCADE,
    PRIMARY KEY (component_id, package_id)
);

CREATE TABLE IF NOT EXISTS content_artifact (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    content_id     bigint NOT NULL,
    relative_path  text   NOT NULL,
    -- Null while the file was never downloaded (on_demand): a remote artifact says where it is.
    artifact_id    bigint,
    UNIQUE (content_id, relative_path)
);

CREATE TABLE IF NOT EXISTS remote (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pulp_id     uuid        NOT NULL UNIQUE DEFAULT pulp2to3_uuid7(),
    pulp_type   text        NOT NULL,
    name        text        NOT NULL UNIQUE,
    url         text        NOT NULL,
    policy      text        NOT NULL CHECK (policy IN ('immediate', 'on_demand', 'streamed')),
    -- TLS, proxy and other options, as Pulp 3 field names.
    options     jsonb       NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS remote_artifact (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    content_artifact_id  bigint NOT NULL,
    remote_id            bigint NOT NULL,
    url                  text   NOT NULL,
    sha256               text,
    size                 bigint,
    UNIQUE (content_artifact_id, remote_id)
);

CREATE TABLE IF NOT EXISTS repository (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pulp_id      uuid        NOT NULL UNIQUE DEFAULT pulp2to3_uuid7(),
    pulp_type    text        NOT NULL,
    name         text        NOT NULL UNIQUE,
    description  text,
    remote_id    bigint      REFERENCES remote (id),
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS repository_version (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pulp_id        uuid        NOT NULL UNIQUE DEFAULT pulp2to3_uuid7(),
    repository_id  bigint      NOT NULL REFERENCES repository (id),
    number         integer     NOT NULL CHECK (number >= 0),
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (repository_id, number)
);

-- Membership as Pulp 3 keeps it: content is in version N of a repository when
-- version_added <= N and (version_removed is null or version_removed > N).
CREATE TABLE IF NOT EXISTS repository_content (
    repository_id    bigint  NOT NULL,
    content_id       bigint  NOT NULL,
    version_added    integer NOT NULL,
    version_removed  integer,
    CHECK (version_removed IS NULL OR version_removed > version_added),
    PRIMARY KEY (repository_id, content_id, version_added)
);

-- Which repository version holds each plan version's content now. Plan version `position`
-- (1, 2, ...: the plan's repository_versions in order) of a repository comes from Pulp 2
-- repository `pulp2_repo_id`; a later migration that finds that Pulp 2 repository changed adds a
-- version holding its new content and moves the row to it.
CREATE TABLE IF NOT EXISTS repository_version_origin (
    repository_id  bigint  NOT NULL REFERENCES repository (id),
    position       integer NOT NULL CHECK (position >= 1),
    pulp2_repo_id  text    NOT NULL,
    version_id     bigint  NOT NULL REFERENCES repository_version (id),
    PRIMARY KEY (repository_id, position)
);

-- What the repository versions made from Pulp 2 repositories `repos` hold: for each, the content
-- its migrated units became, one per type and repository key, as Pulp 3 keeps one file per
-- relative path. Among units sharing a key, the one added to the Pulp 2 repository last wins.
-- All of them at once, set-based (create_repo_versions' step input): by repository, one index
-- probe of pulp2_content and of content per unit cost more than hashing both whole tables.
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

CREATE TABLE IF NOT EXISTS publication (
    id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pulp_id                uuid        NOT NULL UNIQUE DEFAULT pulp2to3_uuid7(),
    pulp_type              text        NOT NULL,
    repository_version_id  bigint      NOT NULL REFERENCES repository_version (id),
    created_at             timestamptz NOT NULL DEFAULT now()
);

-- The content of the repository version a publication publishes.
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

-- A migrated version is published once: a re-run or a concurrent copy of a batch finds the
-- publication there instead of adding a second one.
CREATE UNIQUE INDEX IF NOT EXISTS publication_one_per_version
    ON publication (repository_version_id);

-- What a publication publishes: content files by their content artifact... Written only for a
-- publication made in the same transaction, and deleted with it (reset_publications): no foreign
-- key, whose check per row was a tenth of a publication batch (as repository_content has none).
CREATE TABLE IF NOT EXISTS published_artifact (
    publication_id       bigint NOT NULL,
    relative_path        text   NOT NULL,
    content_artifact_id  bigint NOT NULL,
    PRIMARY KEY (publication_id, relative_path)
);

-- ...and metadata files it generated (PULP_MANIFEST, repodata), stored as artifacts.
CREATE TABLE IF NOT EXISTS published_metadata (
    publication_id  bigint NOT NULL REFERENCES publication (id) ON DELETE CASCADE,
    relative_path   text   NOT NULL,
    artifact_id     bigint NOT NULL REFERENCES artifact (id),
    PRIMARY KEY (publication_id, relative_path)
);

CREATE TABLE IF NOT EXISTS distribution (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pulp_id         uuid        NOT NULL UNIQUE DEFAULT pulp2to3_uuid7(),
    pulp_type       text        NOT NULL,
    name            text        NOT NULL UNIQUE,
    base_path       text        NOT NULL UNIQUE CHECK (base_path !~ '(^/|/$|(^|/)\.\.?(/|$))'),
    publication_id  bigint      REFERENCES publication (id),
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- ---------------------------------------------------------------------------------------------
-- The repository steps' inputs. create_repositories, create_repo_versions and
-- create_publications each read what their batches need from these tables, computed once per
-- migration by the first batch that runs, set-based (hash joins over the whole staging and
-- content tables; per row, index probes into tables far bigger than the server's buffers cost
-- several times more). `step_input` says which migration, and which of its plan's repositories,
-- a step's table was computed for. The first batch takes the step's advisory lock, computes the
-- table and records it in its transaction, so the others wait for its commit; a batch that fails
-- or is killed takes it with it, and the next batch computes it again. Unlogged: a crash of the
-- server empties them, `step_input` too, and the next batch computes them again. They keep the
-- last migration's rows until the next migration's step replaces them.
-- ---------------------------------------------------------------------------------------------

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

-- The remote artifacts of remote remotes[i] that the lazy catalog of importer importers[i]
-- gives (remote_artifact_input), each importer's read as one index range; inlined into the
-- statements that write them.
CREATE OR REPLACE FUNCTION pulp2to3_offered_remote_artifacts(importers text[], remotes bigint[])
    RETURNS TABLE (content_artifact_id bigint, remote_id bigint, url text, sha256 text,
                   size bigint)
    LANGUAGE sql STABLE AS $$
    SELECT i.content_artifact_id, m.remote_id, i.url, i.sha256, i.size
      FROM unnest(importers, remotes) AS m(importer_id, remote_id)
     CROSS JOIN LATERAL (
           SELECT * FROM remote_artifact_input AS i WHERE i.importer_id = m.importer_id OFFSET 0
           ) AS i
$$;

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
