-- premigrate in parallel parts (issue 11): the load tables, temporary until now, are shared by
-- the part batches, which COPY into them in their own transactions. Unlogged, for speed: what a
-- crash loses, the merge loads again (premigrate_load_part_present).

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
