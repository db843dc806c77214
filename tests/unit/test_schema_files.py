"""The migration files: how they are named and ordered, and the shipped ones."""

from __future__ import annotations

import pytest

from pulp2to3.schema import SchemaError, load_migrations, ordered_migrations


def test_migrations_apply_in_the_order_of_their_numbers() -> None:
    files = {"0002_then.sql": "SELECT 2", "0001_first.sql": "SELECT 1", "0003_last.sql": "SELECT 3"}
    migrations = ordered_migrations(files)
    assert [m.name for m in migrations] == ["0001_first", "0002_then", "0003_last"]
    assert [m.sql for m in migrations] == ["SELECT 1", "SELECT 2", "SELECT 3"]


@pytest.mark.parametrize(
    ("files", "error"),
    [
        ({"1_short.sql": ""}, "'1_short.sql' is not named like 0001_words.sql"),
        ({"0001-dash.sql": ""}, "'0001-dash.sql' is not named like"),
        ({"0001_Capital.sql": ""}, "'0001_Capital.sql' is not named like"),
        ({"0001_a.sql": "", "0001_b.sql": ""}, "0001_a.sql and 0001_b.sql have one number"),
        ({"0001_a.sql": "", "0003_c.sql": ""}, "migration number 0002 is missing"),
        ({"0002_b.sql": ""}, "migration number 0001 is missing"),
    ],
)
def test_misnamed_or_misnumbered_files_are_refused(files: dict[str, str], error: str) -> None:
    with pytest.raises(SchemaError, match=error):
        ordered_migrations(files)


def test_the_shipped_migrations_load() -> None:
    migrations = load_migrations()
    assert migrations[0].name == "0001_schema_migration"
    assert all(migration.sql.strip() for migration in migrations)
