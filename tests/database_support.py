"""The database fixtures of the integration and acceptance tiers: a real PostgreSQL, one fresh
database per test cloned from a template.

A pytest plugin, registered by those tiers' conftest.py only: the unit tier neither imports it nor
finds or starts a server. The server is resolved on first use, by the session fixture
``server_url``.
"""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from pulp2to3 import database
from pulp2to3.actors.steps import Migration
from pulp2to3.plan import parse_plan
from pulp2to3.schema import init_db
from pulp2to3.settings import Settings, load_settings

LOCAL_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

NewMigration = Callable[..., Awaitable[Migration]]


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def server_url() -> str:
    """PULP2TO3_TEST_DATABASE_URL, else the local cluster, else an embedded server."""
    configured = os.environ.get("PULP2TO3_TEST_DATABASE_URL")
    if configured:
        return configured
    if _answers("127.0.0.1", 5432):
        return LOCAL_SERVER_URL
    from pulp2to3.embedded import start_embedded_server

    # Stopped by pgserver when this process exits.
    return start_embedded_server(Path(tempfile.mkdtemp(prefix="pulp2to3-test-pg-")))


async def _admin(server: str, statement: str) -> None:
    connection = await asyncpg.connect(server)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _build_template(server: str, name: str) -> None:
    await _admin(server, f'CREATE DATABASE "{name}"')
    connection = await asyncpg.connect(database.with_database(server, name))
    try:
        await init_db(connection)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def template_database(server_url: str) -> Iterator[str]:
    """A database with the whole schema, built once per test session."""
    name = f"pulp2to3_tpl_{uuid.uuid4().hex[:12]}"
    asyncio.run(_build_template(server_url, name))
    yield name
    asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def fresh_database(server_url: str, template_database: str) -> Iterator[str]:
    """The URL of a new database holding the schema, dropped when the block ends."""
    name = f"pulp2to3_t_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(server_url, f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"'))
    try:
        yield database.with_database(server_url, name)
    finally:
        asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def db_url(server_url: str, template_database: str) -> Iterator[str]:
    """The URL of a fresh database holding the schema, dropped after the test."""
    with fresh_database(server_url, template_database) as url:
        yield url


@pytest.fixture
def empty_db_url(server_url: str) -> Iterator[str]:
    """The URL of a fresh database with no schema at all."""
    name = f"pulp2to3_e_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(server_url, f'CREATE DATABASE "{name}"'))
    yield database.with_database(server_url, name)
    asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await database.create_pool(db_url, min_size=1, max_size=8)
    yield pool
    await pool.close()


@pytest.fixture
def new_migration(pool: asyncpg.Pool) -> NewMigration:
    """Make a running migration of ``plan`` (already expanded) and return its Migration, as a
    batch task sees it. Settings come from the environment unless a test passes its own."""

    async def make(plan: dict[str, Any], settings: Settings | None = None) -> Migration:
        async with pool.acquire() as connection:
            migration_id = await connection.fetchval(
                "WITH p AS (INSERT INTO migration_plan (plan) VALUES ($1::jsonb) RETURNING id)"
                " INSERT INTO migration (plan_id, status, started_at, expanded_plan)"
                " SELECT id, 'running', now(), $1::jsonb FROM p RETURNING id",
                plan,
            )
        return Migration(
            id=migration_id, plan=parse_plan(plan), settings=settings or load_settings()
        )

    return make


async def backends_waiting_on_a_lock(connection: asyncpg.Connection) -> int:
    """How many other backends of this database wait for a lock (a row or table lock held by an
    uncommitted transaction). Outside a transaction: inside one, pg_stat_activity is read once."""
    count: int = await connection.fetchval(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        "   AND wait_event_type = 'Lock'"
    )
    return count
