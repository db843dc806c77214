"""The named-query loader, and the shipped ``pulp2to3/sql/*.sql`` files it reads."""

from __future__ import annotations

import re

import pytest

from pulp2to3.database import parse_queries, queries

SAMPLE = """\
-- A file header, ignored.
-- It may span lines.

-- first_query --
-- What the first query does
-- over two lines
SELECT 1
  FROM somewhere
 WHERE x = $1

-- second_query --
SELECT 2

-- third_query_3 --
-- Only a description
UPDATE t SET a = $1 WHERE b = $2
"""


def test_names_descriptions_and_bodies_are_split() -> None:
    assert parse_queries(SAMPLE) == {
        "first_query": "SELECT 1\n  FROM somewhere\n WHERE x = $1",
        "second_query": "SELECT 2",
        "third_query_3": "UPDATE t SET a = $1 WHERE b = $2",
    }


def test_the_order_of_the_file_is_kept() -> None:
    assert list(parse_queries(SAMPLE)) == ["first_query", "second_query", "third_query_3"]


def test_a_file_without_names_has_no_queries() -> None:
    assert parse_queries("-- just a comment\nSELECT 1\n") == {}


def test_a_name_defined_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="'twice' is defined twice"):
        parse_queries("-- twice --\nSELECT 1\n\n-- other --\nSELECT 2\n\n-- twice --\nSELECT 3\n")


def test_the_shipped_file_has_queries() -> None:
    assert {"online_workers", "job_counts", "server_version", "cancel_jobs"} <= set(queries)


@pytest.mark.parametrize("name", sorted(queries))
def test_every_shipped_query_is_a_non_empty_asyncpg_statement(name: str) -> None:
    body = queries[name]
    assert body.strip(), f"{name} is empty"
    assert not body.lstrip().startswith("--"), f"{name} has a stray comment where SQL should be"
    assert not re.search(r"%\(\w+\)s", body), f"{name} uses psycopg placeholders"
    numbers = {int(number) for number in re.findall(r"\$(\d+)", body)}
    assert numbers == set(range(1, len(numbers) + 1)), f"{name} skips a $n placeholder"
