"""Schema migrations: a database installed by the release (``schema_released.sql``) plus every
file of ``pulp2to3/sql/migrations/`` is the database ``schema.sql`` installs, catalog for
catalog; ``init-db`` does that upgrade, keeps the rows, and records what it applied."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from procrastinate.schema import SchemaManager

from pulp2to3.schema import SchemaError, SchemaMigration, init_db, load_migrations

RELEASED_SCHEMA = Path(__file__).with_name("schema_released.sql")

# Everything of the public schema (ours and Procrastinate's) that a migration could get wrong.
# Column positions are left out: a column a migration adds comes last, wherever schema.sql
# lists it.
CATALOG = {
    "relations": """
        SELECT c.relname, c.relkind::text, c.relpersistence::text, c.reloptions::text
          FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public'""",
    "columns": """
        SELECT table_name, column_name, data_type, udt_name, column_default, is_nullable,
               character_maximum_length, numeric_precision, is_identity, identity_generation,
               is_generated, generation_expression, collation_name
          FROM information_schema.columns
         WHERE table_schema = 'public'""",
    "constraints": """
        SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
          FROM pg_constraint AS c JOIN pg_namespace AS n ON n.oid = c.connamespace
         WHERE n.nspname = 'public'""",
    "indexes": """
        SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'""",
    "functions": """
        SELECT p.proname, pg_get_function_identity_arguments(p.oid), pg_get_functiondef(p.oid)
          FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
         WHERE n.nspname = 'public' AND p.prokind IN ('f', 'p')""",
    "triggers": """
        SELECT t.tgrelid::regclass::text, t.tgname, pg_get_triggerdef(t.oid)
          FROM pg_trigger AS t JOIN pg_class AS c ON c.oid = t.tgrelid
          JOIN pg_namespace AS n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND NOT t.tgisinternal""",
    "views": "SELECT viewname, definition FROM pg_views WHERE schemaname = 'public'",
    "types": """
        SELECT t.typname, t.typtype::text,
               array(SELECT e.enumlabel::text FROM pg_enum AS e
                      WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder)
          FROM pg_type AS t JOIN pg_namespace AS n ON n.oid = t.typnamespace
         WHERE n.nspname = 'public'""",
    "sequences": """
        SELECT sequencename, data_type::text, start_value, increment_by, cycle
          FROM pg_sequences WHERE schemaname = 'public'""",
}


async def catalog(url: str) -> dict[str, list[tuple[object, ...]]]:
    connection = await asyncpg.connect(url)
    try:
        return {
            name: sorted(tuple(row) for row in await connection.fetch(query))
            for name, query in CATALOG.items()
        }
    finally:
        await connection.close()


def differences(
    actual: dict[str, list[tuple[object, ...]]], expected: dict[str, list[tuple[object, ...]]]
) -> dict[str, dict[str, list[tuple[object, ...]]]]:
    """Per catalog, the rows only one side has."""
    found = {}
    for name in CATALOG:
        extra = [row for row in actual[name] if row not in expected[name]]
        lacking = [row for row in expected[name] if row not in actual[name]]
        if extra or lacking:
            found[name] = {"extra": extra, "lacking": lacking}
    return found


@pytest.fixture
async def released(empty_db_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A database as the release's ``init-db`` installed it, holding a few rows."""
    connection = await asyncpg.connect(empty_db_url)
    await connection.execute(SchemaManager.get_schema())
    await connection.execute(RELEASED_SCHEMA.read_text(encoding="utf-8"))
    await connection.execute(
        "WITH p AS (INSERT INTO migration_plan (plan) VALUES ('{}') RETURNING id)"
        " INSERT INTO migration_report (plan_id, status) SELECT id, 'paused' FROM p"
    )
    await connection.execute(  # a job held by the pause, its argument in the released name
        "INSERT INTO procrastinate_jobs (queue_name, task_name, args)"
        """ VALUES ('default', 'pulp2to3.coordinator', '{"report_id": "r"}')"""
    )
    await connection.execute(
        "INSERT INTO content (pulp_type, natural_key, repo_key) VALUES ('file.file', 'k', 'a')"
    )
    yield connection
    await connection.close()


async def recorded(connection: asyncpg.Connection) -> list[str]:
    return [row["name"] for row in await connection.fetch("SELECT name FROM schema_migration")]


def names(migrations: list[SchemaMigration]) -> list[str]:
    return [migration.name for migration in migrations]


async def test_migrations_bring_the_released_schema_to_schema_sql(
    released: asyncpg.Connection, empty_db_url: str, db_url: str
) -> None:
    installed = await catalog(db_url)  # the template: init-db on an empty database
    assert differences(await catalog(empty_db_url), installed)  # what the migrations must do

    assert await init_db(released) == names(load_migrations())

    assert differences(await catalog(empty_db_url), installed) == {}
    assert sorted(await recorded(released)) == names(load_migrations())
    assert await released.fetchval("SELECT status FROM migration") == "paused"
    assert await released.fetchval("SELECT args FROM procrastinate_jobs") == '{"migration_id": "r"}'
    assert await released.fetchval("SELECT repo_key FROM content") == "a"


async def test_the_steps_of_an_earlier_migration_still_run_one_after_the_other(
    released: asyncpg.Connection,
) -> None:
    await released.execute(
        "INSERT INTO migration_step (report_id, position, code, description)"
        " SELECT id, n, 'step' || n, '' FROM migration_report, generate_series(1, 3) AS n"
    )
    await init_db(released)
    rows = await released.fetch("SELECT code, needs FROM migration_step ORDER BY position")
    assert [(row["code"], row["needs"]) for row in rows] == [
        ("step1", []),
        ("step2", ["step1"]),
        ("step3", ["step2"]),
    ]


async def test_init_db_after_the_upgrade_applies_nothing(released: asyncpg.Connection) -> None:
    await init_db(released)
    before = await released.fetch("SELECT name, applied_at FROM schema_migration ORDER BY name")
    assert await init_db(released) == []
    after = await released.fetch("SELECT name, applied_at FROM schema_migration ORDER BY name")
    assert after == before


async def test_a_new_database_records_every_migration_as_applied(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as connection:
        assert sorted(await recorded(connection)) == names(load_migrations())
        assert await init_db(connection) == []


async def test_a_failing_migration_leaves_the_database_as_it_was(
    released: asyncpg.Connection, empty_db_url: str
) -> None:
    before = await catalog(empty_db_url)
    broken = SchemaMigration(name="9999_broken", sql="CREATE TABLE half_done (); SELECT 1 / 0")
    with pytest.raises(asyncpg.DivisionByZeroError):
        await init_db(released, [*load_migrations(), broken])
    assert differences(await catalog(empty_db_url), before) == {}


async def test_a_database_that_had_unknown_migrations_is_refused(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as connection:
        await connection.execute("INSERT INTO schema_migration (name) VALUES ('9999_future')")
        with pytest.raises(SchemaError, match=r"newer than this pulp2to3.*9999_future"):
            await init_db(connection)
