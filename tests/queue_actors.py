"""Tasks that exist only for the queue tests; workers load them with
``procrastinate --app=tests.queue_actors.app worker`` (or ``app.with_connector`` in process).
Also the connector the in-process tests give the app."""

from __future__ import annotations

import os

import asyncpg
import procrastinate

from pulp2to3 import database
from pulp2to3.queue import app
from pulp2to3.queue.connector import AsyncpgConnector
from pulp2to3.queue.fencing import fence
from tests.waiting_support import eventually

# Longer than any test: a held job ends when the test releases it, is aborted, or its worker dies.
HELD_AT_MOST = 600.0


def make_connector(url: str, application_name: str = "pulp2to3_test") -> AsyncpgConnector:
    async def make_pool() -> asyncpg.Pool:
        return await database.create_pool(url, max_size=8)

    async def connect() -> asyncpg.Connection:
        connection = await asyncpg.connect(
            url, server_settings={"application_name": application_name}
        )
        await database.init_connection(connection)
        return connection

    return AsyncpgConnector(pool_factory=make_pool, connect=connect)


CREATE_EVENTS = """
CREATE TABLE IF NOT EXISTS test_event (
    value text NOT NULL,
    pid integer NOT NULL,
    at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE IF NOT EXISTS test_release (value text PRIMARY KEY)"""


async def _record(context: procrastinate.JobContext, value: str) -> None:
    connector = context.app.connector
    async with connector.pool.acquire() as connection:  # type: ignore[attr-defined]
        await connection.execute(
            "INSERT INTO test_event (value, pid) VALUES ($1, $2)", value, os.getpid()
        )


@app.task(name="tests.record", pass_context=True)
async def record(context: procrastinate.JobContext, value: str) -> None:
    await _record(context, value)


async def release(connection: asyncpg.Connection, value: str) -> None:
    """Let the jobs of ``tests.record_when_released`` for ``value`` finish."""
    await connection.execute("INSERT INTO test_release (value) VALUES ($1)", value)


async def _released(context: procrastinate.JobContext, value: str) -> None:
    connector = context.app.connector

    async def released() -> bool:
        async with connector.pool.acquire() as connection:  # type: ignore[attr-defined]
            query = "SELECT count(*) FROM test_release WHERE value = $1"
            return bool(await connection.fetchval(query, value))

    await eventually(released, HELD_AT_MOST, f"the test to release {value!r}")


@app.task(name="tests.record_when_released", pass_context=True)
async def record_when_released(context: procrastinate.JobContext, value: str) -> None:
    """A job that runs until the test releases it: it is running for as long as the test
    needs (to cancel it, or to kill its worker)."""
    await _record(context, f"{value}:started")
    await _released(context, value)
    await _record(context, value)


@app.task(name="tests.fenced_write_when_released", pass_context=True)
async def fenced_write_when_released(context: procrastinate.JobContext, value: str) -> None:
    """Writes ``value`` in a transaction that stays open until the test releases it and commits
    only if the job's attempt is still current, as a batch does."""
    pool = context.app.connector.pool  # type: ignore[attr-defined]
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute(
            "INSERT INTO test_event (value, pid) VALUES ($1, $2)", value, os.getpid()
        )
        await _record(context, f"{value}:started")
        await _released(context, value)
        await fence(connection, context.job)


@app.task(name="tests.fail")
async def fail(reason: str) -> None:
    raise RuntimeError(reason)
