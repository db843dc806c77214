"""The asyncpg connector through every path the app uses, against a real PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import procrastinate
import pytest
from procrastinate import exceptions

from pulp2to3.queue.control import cancel_jobs
from tests import queue_actors
from tests.waiting_support import eventually

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def test_app(db_url: str) -> AsyncIterator[procrastinate.App]:
    with queue_actors.app.replace_connector(queue_actors.make_connector(db_url)) as app:
        async with app.open_async():
            async with app.connector.pool.acquire() as connection:  # type: ignore[attr-defined]
                await connection.execute(queue_actors.CREATE_EVENTS)
            yield app


async def jobs(app: procrastinate.App) -> list[dict[str, Any]]:
    async with app.connector.pool.acquire() as connection:  # type: ignore[attr-defined]
        rows = await connection.fetch(
            "SELECT id, task_name, status::text AS status, args, attempts, queueing_lock"
            " FROM procrastinate_jobs WHERE task_name LIKE 'tests.%' ORDER BY id"
        )
    return [dict(row) for row in rows]


async def events(app: procrastinate.App) -> list[str]:
    async with app.connector.pool.acquire() as connection:  # type: ignore[attr-defined]
        return [
            row["value"]
            for row in await connection.fetch("SELECT value FROM test_event ORDER BY at")
        ]


async def idle_after(db_url: str, statement: str, application_name: str = "%") -> list[int]:
    """The pids of the other backends of this database, idle, whose last statement is like
    ``statement``; seen from a connection of its own (a pooled one could be the very backend to
    look for)."""
    connection = await asyncpg.connect(db_url)
    try:
        rows = await connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND state = 'idle'"
            " AND query LIKE $1 AND application_name LIKE $2",
            statement,
            application_name,
        )
    finally:
        await connection.close()
    return [row["pid"] for row in rows]


@contextlib.asynccontextmanager
async def running_worker(app: procrastinate.App, **options: Any) -> AsyncIterator[None]:
    task = asyncio.create_task(
        app.run_worker_async(install_signal_handlers=False, **options), name="test worker"
    )
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_defer_writes_a_job_with_its_arguments(test_app: procrastinate.App) -> None:
    job_id = await test_app.configure_task("tests.record").defer_async(value="a")
    [job] = await jobs(test_app)
    assert job["id"] == job_id
    assert job["status"] == "todo"
    assert job["args"] == {"value": "a"}


async def test_batch_defer_writes_every_job(test_app: procrastinate.App) -> None:
    ids = await test_app.configure_task("tests.record").batch_defer_async(
        {"value": "a"}, {"value": "b"}, {"value": "c"}
    )
    rows = await jobs(test_app)
    assert [row["id"] for row in rows] == ids
    assert [row["args"]["value"] for row in rows] == ["a", "b", "c"]


async def test_queueing_lock_raises_already_enqueued(test_app: procrastinate.App) -> None:
    deferrer = test_app.configure_task("tests.record", queueing_lock="only-one")
    await deferrer.defer_async(value="first")
    with pytest.raises(exceptions.AlreadyEnqueued) as caught:
        await test_app.configure_task("tests.record", queueing_lock="only-one").defer_async(
            value="second"
        )
    assert "only-one" in str(caught.value)
    assert [row["args"]["value"] for row in await jobs(test_app)] == ["first"]


async def test_defer_on_the_callers_connection_commits_with_its_transaction(
    test_app: procrastinate.App,
) -> None:
    pool = test_app.connector.pool  # type: ignore[attr-defined]

    async def defer_then_fail(connection: asyncpg.Connection) -> None:
        async with connection.transaction():
            await test_app.configure_task("tests.record", connection=connection).defer_async(
                value="rolled back"
            )
            raise RuntimeError("abort the transaction")

    async with pool.acquire() as connection:
        with pytest.raises(RuntimeError):
            await defer_then_fail(connection)
        async with connection.transaction():
            await test_app.configure_task("tests.record", connection=connection).defer_async(
                value="committed"
            )
    assert [row["args"]["value"] for row in await jobs(test_app)] == ["committed"]


async def test_execute_query_one_without_a_row_raises_no_result(
    test_app: procrastinate.App,
) -> None:
    with pytest.raises(exceptions.NoResult):
        await test_app.connector.execute_query_one_async("SELECT 1 WHERE %(x)s", x=False)


async def test_numbers_given_where_the_query_wants_text_are_coerced(
    test_app: procrastinate.App,
) -> None:
    # `%(nb_hours)s || 'HOUR'` and `%(seconds_since_heartbeat)s || ' SECOND'` infer text.
    await test_app.job_manager.delete_old_jobs(nb_hours=1)
    assert await test_app.job_manager.get_stalled_jobs(seconds_since_heartbeat=30) == []


async def test_driver_errors_become_connector_exceptions(test_app: procrastinate.App) -> None:
    with pytest.raises(exceptions.ConnectorException):
        await test_app.connector.execute_query_async("SELECT * FROM no_such_table")


async def test_procrastinate_schema_applies_through_the_connector(empty_db_url: str) -> None:
    app = procrastinate.App(connector=queue_actors.make_connector(empty_db_url))
    async with app.open_async():
        await app.schema_manager.apply_schema_async()
        assert await app.check_connection_async()


async def test_real_worker_fetches_and_finishes_jobs(test_app: procrastinate.App) -> None:
    await test_app.configure_task("tests.record").batch_defer_async({"value": "a"}, {"value": "b"})
    await test_app.configure_task("tests.fail").defer_async(reason="on purpose")
    await test_app.run_worker_async(wait=False, concurrency=2, install_signal_handlers=False)
    statuses = {row["task_name"]: row["status"] for row in await jobs(test_app)}
    assert statuses == {"tests.record": "succeeded", "tests.fail": "failed"}
    assert sorted(await events(test_app)) == ["a", "b"]


async def test_notify_wakes_an_idle_worker_long_before_its_next_poll(
    test_app: procrastinate.App, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    connector = test_app.connector
    fetched_nothing = asyncio.Event()
    fetch = connector.execute_query_one_async

    async def watched(query: str, **arguments: Any) -> dict[str, Any]:
        row = await fetch(query, **arguments)
        if "procrastinate_fetch_job" in query and row["id"] is None:
            fetched_nothing.set()  # the worker goes idle until a NOTIFY or its next poll
        return row

    monkeypatch.setattr(connector, "execute_query_one_async", watched)
    async with running_worker(test_app, fetch_job_polling_interval=60):

        async def idle_and_listening() -> bool:
            return fetched_nothing.is_set() and bool(await idle_after(db_url, "LISTEN %"))

        await eventually(idle_and_listening, 10, "the worker to find no job and listen")
        await test_app.configure_task("tests.record").defer_async(value="woken")

        async def ran() -> bool:
            return await events(test_app) == ["woken"]

        # Polling is every 60 s: only the NOTIFY can make the job run this soon.
        await eventually(ran, 10, "the job to run after NOTIFY")


async def test_cancel_jobs_cancels_queued_jobs_in_one_statement(
    test_app: procrastinate.App,
) -> None:
    ids = await test_app.configure_task("tests.record").batch_defer_async(
        {"value": "a"}, {"value": "b"}
    )
    async with test_app.connector.pool.acquire() as connection:  # type: ignore[attr-defined]
        acted = await cancel_jobs(connection, [*ids, 999_999])
    assert sorted(acted) == sorted(ids)
    await test_app.run_worker_async(wait=False, install_signal_handlers=False)
    assert {row["status"] for row in await jobs(test_app)} == {"cancelled"}
    assert await events(test_app) == []


async def test_cancel_aborts_a_running_async_job(test_app: procrastinate.App) -> None:
    job_id = await test_app.configure_task("tests.record_when_released").defer_async(value="never")
    async with running_worker(test_app):

        async def started() -> bool:
            return await events(test_app) == ["never:started"]

        await eventually(started, 10, "the job to start")
        async with test_app.connector.pool.acquire() as connection:  # type: ignore[attr-defined]
            assert await cancel_jobs(connection, [job_id]) == [job_id]

        async def aborted() -> bool:
            return [row["status"] for row in await jobs(test_app)] == ["aborted"]

        await eventually(aborted, 10, "the running job to abort")
    assert await events(test_app) == ["never:started"]


def start_cli_worker(db_url: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PULP2TO3_DATABASE_URL": db_url, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "procrastinate", "--app=tests.queue_actors.app", "worker"],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.timeout(90)
async def test_jobs_of_a_killed_worker_run_again_elsewhere(
    test_app: procrastinate.App, db_url: str
) -> None:
    await test_app.configure_task("tests.record_when_released").defer_async(value="done")
    doomed = start_cli_worker(db_url)
    try:

        async def started() -> bool:
            return await events(test_app) == ["done:started"]

        await eventually(started, 30, "the job to start in the subprocess worker")
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(10)
    finally:
        doomed.kill()
    [job] = await jobs(test_app)
    assert job["status"] == "doing"  # the dead worker never finished it
    async with test_app.connector.pool.acquire() as connection:  # type: ignore[attr-defined]
        await queue_actors.release(connection, "done")

    survivor = start_cli_worker(db_url)
    try:

        async def finished() -> bool:
            return [row["status"] for row in await jobs(test_app)] == ["succeeded"]

        await eventually(finished, 60, "the stalled job to be retried and finish")
    finally:
        survivor.send_signal(signal.SIGTERM)
        survivor.wait(20)
    assert await events(test_app) == ["done:started", "done:started", "done"]
    [job] = await jobs(test_app)
    assert job["attempts"] == 2


async def test_listener_reconnects_after_the_server_drops_it(db_url: str) -> None:
    connector = queue_actors.make_connector(db_url, application_name="pulp2to3_listener_test")
    await connector.open_async()
    received: list[str] = []

    async def on_notification(*, channel: str, payload: str) -> None:
        received.append(payload)

    listener = asyncio.create_task(
        connector.listen_notify(on_notification, ["pulp2to3_test#channel"]), name="listener"
    )
    try:

        async def notified(payload: str) -> None:
            async with connector.pool.acquire() as connection:
                await connection.execute("SELECT pg_notify('pulp2to3_test#channel', $1)", payload)

            async def received_it() -> bool:
                return payload in received

            await eventually(received_it, 15, f"notification {payload!r}")

        async def listeners() -> list[int]:
            return await idle_after(db_url, "LISTEN %", "pulp2to3_listener_test")

        async def a_listener_other_than(dropped: list[int]) -> bool:
            return bool(set(await listeners()) - set(dropped))

        await eventually(lambda: a_listener_other_than([]), 15, "the listener to listen")
        await notified("before")
        first = await listeners()
        async with connector.pool.acquire() as connection:
            dropped = await connection.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = 'pulp2to3_listener_test'"
            )
        assert dropped == 1
        await eventually(lambda: a_listener_other_than(first), 15, "the listener to listen again")
        await notified("after")
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
        await connector.close_async()
