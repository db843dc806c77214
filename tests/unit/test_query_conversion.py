"""Procrastinate writes psycopg placeholders; asyncpg wants $n."""

from __future__ import annotations

import re

import pytest
from procrastinate import sql

from pulp2to3.queue.connector import convert_query


def test_names_become_numbers_in_order_of_first_use() -> None:
    text, names = convert_query("SELECT %(b)s, %(a)s, %(b)s")
    assert text == "SELECT $1, $2, $1"
    assert names == ("b", "a")


def test_escaped_percent_becomes_a_percent() -> None:
    assert convert_query("SELECT 'a%%b' LIKE %(x)s") == ("SELECT 'a%b' LIKE $1", ("x",))


def test_a_query_without_placeholders_is_unchanged() -> None:
    assert convert_query("SELECT 1") == ("SELECT 1", ())


@pytest.mark.parametrize("name", sorted(sql.queries))
def test_every_procrastinate_query_converts(name: str) -> None:
    text, names = convert_query(sql.queries[name])
    assert "%(" not in text
    assert sorted(set(names)) == sorted(set(re.findall(r"%\((\w+)\)s", sql.queries[name])))
    numbers = {int(n) for n in re.findall(r"\$(\d+)", text)}
    assert numbers == set(range(1, len(names) + 1))
