"""Shared fixtures: a real PostgreSQL, one fresh database per test cloned from a template."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from pulp2to3 import database
from pulp2to3.schema import init_db

# The server tests run against; .ci/run points this at the local cluster or an embedded one.
SERVER_URL = os.environ.get(
    "PULP2TO3_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(SERVER_URL)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _build_template(name: str) -> None:
    await _admin(f'CREATE DATABASE "{name}"')
    connection = await asyncpg.connect(database.with_database(SERVER_URL, name))
    try:
        await init_db(connection)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def template_database() -> Iterator[str]:
    """A database with the whole schema, built once per test session."""
    name = f"pulp2to3_tpl_{uuid.uuid4().hex[:12]}"
    asyncio.run(_build_template(name))
    yield name
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def db_url(template_database: str) -> Iterator[str]:
    """The URL of a fresh database holding the schema, dropped after the test."""
    name = f"pulp2to3_t_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"'))
    yield database.with_database(SERVER_URL, name)
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def empty_db_url() -> Iterator[str]:
    """The URL of a fresh database with no schema at all."""
    name = f"pulp2to3_e_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    yield database.with_database(SERVER_URL, name)
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await database.create_pool(db_url, min_size=1, max_size=8)
    yield pool
    await pool.close()
