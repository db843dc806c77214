"""Installing the schema: pulp2to3's own tables and Procrastinate's, and bringing a database
installed by an earlier release up to date with the files of ``pulp2to3/sql/migrations/``."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from importlib import resources

import asyncpg
from procrastinate.schema import SchemaManager

from pulp2to3.database import queries, schema_sql

# ``0001_what_it_changes.sql``: the number gives the order, from 1 without gaps.
_MIGRATION_FILE = re.compile(r"(?P<number>[0-9]{4})_[a-z0-9_]+\.sql")


class SchemaError(Exception):
    """The migration files, or the database's record of them, make no sense together."""


@dataclasses.dataclass(frozen=True)
class SchemaMigration:
    name: str  # the file name without ``.sql``, as recorded in ``schema_migration``
    sql: str


def ordered_migrations(files: Mapping[str, str]) -> list[SchemaMigration]:
    """The migration files ``{file name: text}`` in the order they apply."""
    numbered: dict[int, SchemaMigration] = {}
    for file_name, text in files.items():
        match = _MIGRATION_FILE.fullmatch(file_name)
        if match is None:
            raise SchemaError(f"migration file {file_name!r} is not named like 0001_words.sql")
        number = int(match["number"])
        if number in numbered:
            raise SchemaError(
                f"migration files {numbered[number].name}.sql and {file_name} have one number"
            )
        numbered[number] = SchemaMigration(name=file_name.removesuffix(".sql"), sql=text)
    missing = sorted(set(range(1, len(numbered) + 1)) - set(numbered))
    if missing:
        raise SchemaError(f"migration number {missing[0]:04d} is missing")
    return [numbered[number] for number in sorted(numbered)]


def load_migrations() -> list[SchemaMigration]:
    """The migration files shipped in ``pulp2to3/sql/migrations/``, in order."""
    folder = resources.files("pulp2to3.sql") / "migrations"
    return ordered_migrations(
        {
            entry.name: entry.read_text(encoding="utf-8")
            for entry in folder.iterdir()
            if entry.name.endswith(".sql")
        }
    )


async def init_db(
    connection: asyncpg.Connection, migrations: Sequence[SchemaMigration] | None = None
) -> list[str]:
    """Install both schemas in a new database, or apply the migrations an installed one has not
    had, all in one transaction; returns the names of the migrations applied.

    A new database gets ``schema.sql`` (the whole schema) with every migration recorded as
    applied; running it again changes nothing.
    """
    known = load_migrations() if migrations is None else migrations
    async with connection.transaction():
        await connection.execute(queries["init_db_lock"])
        if not await connection.fetchval(queries["procrastinate_installed"]):
            await connection.execute(SchemaManager.get_schema())
        state = await connection.fetchrow(queries["schema_state"])
        if not state["installed"]:
            await connection.execute(schema_sql())
            await connection.execute(
                queries["record_schema_migrations"], [migration.name for migration in known]
            )
            return []
        applied: set[str] = set()
        if state["tracked"]:  # else: installed by a release from before migrations existed
            applied = {row["name"] for row in await connection.fetch(queries["schema_migrations"])}
        unknown = applied - {migration.name for migration in known}
        if unknown:
            raise SchemaError(
                "the database's schema is newer than this pulp2to3 (it had the migrations "
                f"{', '.join(sorted(unknown))}): run a release that has them"
            )
        pending = [migration for migration in known if migration.name not in applied]
        for migration in pending:
            await connection.execute(migration.sql)
            await connection.execute(queries["record_schema_migrations"], [migration.name])
        return [migration.name for migration in pending]
