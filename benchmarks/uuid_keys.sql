-- Inserts into a table with a unique uuid key: random (gen_random_uuid) against time-ordered
-- (pulp2to3_uuid7, schema.sql) keys, 2,000,000 rows into an empty table, then 2,000,000 more.
--     psql -h 127.0.0.1 -U postgres -q -f benchmarks/uuid_keys.sql    (from the repository root)
DROP DATABASE IF EXISTS pulp2to3_uuid_keys;
CREATE DATABASE pulp2to3_uuid_keys;
\c pulp2to3_uuid_keys
\i pulp2to3/schema.sql
CREATE TABLE random_keys (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pulp_id uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(), name text NOT NULL UNIQUE);
CREATE TABLE ordered_keys (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pulp_id uuid NOT NULL UNIQUE DEFAULT pulp2to3_uuid7(), name text NOT NULL UNIQUE);
\timing on
\echo random keys, first 2,000,000
INSERT INTO random_keys (name) SELECT 'a' || lpad(g::text, 10, '0') FROM generate_series(1, 2000000) g;
\echo time-ordered keys, first 2,000,000
INSERT INTO ordered_keys (name) SELECT 'a' || lpad(g::text, 10, '0') FROM generate_series(1, 2000000) g;
\echo random keys, 2,000,000 more
INSERT INTO random_keys (name) SELECT 'b' || lpad(g::text, 10, '0') FROM generate_series(1, 2000000) g;
\echo time-ordered keys, 2,000,000 more
INSERT INTO ordered_keys (name) SELECT 'b' || lpad(g::text, 10, '0') FROM generate_series(1, 2000000) g;
\timing off
\c postgres
DROP DATABASE pulp2to3_uuid_keys;
