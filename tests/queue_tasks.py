"""Tasks that exist only for the queue tests; workers load them with
``procrastinate --app=tests.queue_tasks.app worker`` (or ``app.with_connector`` in process)."""

from __future__ import annotations

import asyncio
import os

import procrastinate

from pulp2to3.queue import app

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
