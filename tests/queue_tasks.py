"""Tasks that exist only for the queue tests; workers load them with
``procrastinate --app=tests.queue_tasks.app worker`` (or ``app.with_connector`` in process).
Also the connector the in-process tests give the app."""

from __future__ import annotations

import asyncio
import os

import asyncpg
import procrastinate

from pulp2to3 import database
from pulp2to3.queue import app
from pulp2to3.queue.connector import AsyncpgConnector


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
)"""


async def _record(context: procrastinate.JobContext, value: str) -> None:
    connector = context.app.connector
    async with connector.pool.acquire() as connection:  # type: ignore[attr-defined]
        await connection.execute(
            "INSERT INTO test_event (value, pid) VALUES ($1, $2)", value, os.getpid()
        )


@app.task(name="tests.record", pass_context=True)
async def record(context: procrastinate.JobContext, value: str) -> None:
    await _record(context, value)


@app.task(name="tests.sleep_then_record", pass_context=True)
async def sleep_then_record(context: procrastinate.JobContext, value: str, seconds: float) -> None:
    await _record(context, f"{value}:started")
    await asyncio.sleep(seconds)
    await _record(context, value)


@app.task(name="tests.fail")
async def fail(reason: str) -> None:
    raise RuntimeError(reason)
