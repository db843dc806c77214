-- Which files of pulp2to3/sql/migrations/ the database has had: `init-db` applies the others.
-- A database without this table has the schema as released before migrations existed.
CREATE TABLE schema_migration (
    name        text        PRIMARY KEY,
    applied_at  timestamptz NOT NULL DEFAULT now()
);
