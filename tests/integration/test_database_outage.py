"""Workers and the API through a PostgreSQL outage, on a private server the tests stop and start
(never the shared cluster)."""

from __future__ import annotations

import asyncio
import datetime
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import procrastinate
import pytest

from pulp2to3 import database
from pulp2to3.http.app import COMMAND_TIMEOUT
from pulp2to3.http.errors import DATABASE_UNAVAILABLE
from tests import queue_actors
from tests.http_support import app_for, client_for
from tests.private_postgres_support import (
    KINDS,
    PrivateServer,
    RestartableServer,
    database_on,
    private_server,
    restartable_server,
)
from tests.waiting_support import eventually

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def server() -> Iterator[PrivateServer]:
    with private_server() as running:
        yield running


@pytest.fixture
async def outage_db(server: PrivateServer) -> AsyncIterator[str]:
    async with database_on(server) as url:
        connection = await asyncpg.connect(url)
        try:
            await connection.execute(queue_actors.CREATE_EVENTS)
        finally:
            await connection.close()
        yield url


@pytest.fixture
async def outage_app(outage_db: str) -> AsyncIterator[procrastinate.App]:
    with queue_actors.app.replace_connector(queue_actors.make_connector(outage_db)) as app:
        async with app.open_async():
            yield app


async def fetch(url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    """One query on a connection of its own (the server may have restarted since the last)."""
    connection = await asyncpg.connect(url)
    try:
        return await connection.fetch(query, *args)
    finally:
        await connection.close()


async def job_rows(url: str) -> list[asyncpg.Record]:
    return await fetch(
        url,
        "SELECT id, status::text AS status, attempts, worker_id FROM procrastinate_jobs"
        " WHERE task_name LIKE 'tests.%' ORDER BY id",
    )


async def release(url: str, value: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await queue_actors.release(connection, value)
    finally:
        await connection.close()


async def event_values(url: str) -> list[str]:
    return [row["value"] for row in await fetch(url, "SELECT value FROM test_event ORDER BY at")]


class CliWorker:
    """``procrastinate --app=tests.queue_actors.app worker`` with its output kept in a file."""

    def __init__(self, db_url: str, log: Path) -> None:
        env = {**os.environ, "PULP2TO3_DATABASE_URL": db_url, "PYTHONPATH": str(REPO_ROOT)}
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "procrastinate", "--app=tests.queue_actors.app", "worker"],
                env=env,
                cwd=REPO_ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    async def logged(self, event: str) -> bool:
        return event in self.log.read_text(errors="replace")

    def lines(self, event: str) -> list[str]:
        return [line for line in self.log.read_text(errors="replace").splitlines() if event in line]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def cli_worker(outage_db: str, tmp_path: Path) -> Iterator[CliWorker]:
    worker = CliWorker(outage_db, tmp_path / "worker.log")
    try:
        yield worker
    finally:
        worker.stop()


async def test_a_busy_worker_lives_through_a_restart_and_its_job_runs_again_uncounted(
    server: PrivateServer, outage_app: procrastinate.App, outage_db: str, cli_worker: CliWorker
) -> None:
    await outage_app.configure_task("tests.record_when_released").defer_async(value="done")

    async def started() -> bool:
        return await event_values(outage_db) == ["done:started"]

    await eventually(started, 30, "the job to start")
    await asyncio.to_thread(server.stop)
    # The job's next look for its release meets the outage; the failure cannot be recorded either.
    await eventually(lambda: cli_worker.logged("task_record_failed"), 30, "the job to fail")
    assert await cli_worker.logged("database_unreachable")
    # An outage is to be expected: a warning, without a traceback (the job is requeued).
    recorded = cli_worker.lines("task_record_failed")
    assert all("warning" in line for line in recorded), recorded
    await asyncio.to_thread(server.start)

    async def started_again() -> bool:
        return await event_values(outage_db) == ["done:started", "done:started"]

    await eventually(started_again, 30, "the interrupted job to run again")
    await release(outage_db, "done")

    async def succeeded() -> bool:
        return [row["status"] for row in await job_rows(outage_db)] == ["succeeded"]

    await eventually(succeeded, 30, "the interrupted job to run again and succeed")
    [job] = await job_rows(outage_db)
    assert job["attempts"] == 1  # the interrupted run did not count
    assert await event_values(outage_db) == ["done:started", "done:started", "done"]
    assert cli_worker.process.poll() is None
    assert await cli_worker.logged("database_reconnected")


async def test_a_job_retried_while_its_worker_was_away_commits_nothing_when_it_comes_back(
    outage_app: procrastinate.App, outage_db: str, cli_worker: CliWorker
) -> None:
    job_id = await outage_app.configure_task("tests.fenced_write_when_released").defer_async(
        value="stale"
    )
    await eventually(lambda: event_values_are(outage_db, ["stale:started"]), 30, "the job to start")
    # What the stalled-job retry does to the job of a worker whose heartbeat stopped.
    await outage_app.job_manager.retry_job_by_id_async(job_id, datetime.datetime.now(datetime.UTC))
    await release(outage_db, "stale")
    await eventually(lambda: cli_worker.logged("job_taken_over"), 30, "the stale attempt to end")

    async def succeeded() -> bool:
        return [row["status"] for row in await job_rows(outage_db)] == ["succeeded"]

    await eventually(succeeded, 30, "the retry to run and succeed")
    [job] = await job_rows(outage_db)
    assert job["attempts"] == 2  # the retry, then the success; the stale attempt recorded nothing
    # The stale attempt's write was refused at its commit; the retry's committed once.
    assert sorted(await event_values(outage_db)) == ["stale", "stale:started", "stale:started"]
    assert not await cli_worker.logged("task_failed")


async def event_values_are(url: str, values: list[str]) -> bool:
    return await event_values(url) == values


async def test_a_worker_started_while_the_database_is_down_waits_for_it(
    server: PrivateServer, outage_db: str, tmp_path: Path
) -> None:
    await asyncio.to_thread(server.stop)
    worker = CliWorker(outage_db, tmp_path / "worker.log")
    try:
        await eventually(lambda: worker.logged("database_unreachable"), 30, "the worker to wait")
        assert worker.process.poll() is None
        await asyncio.to_thread(server.start)
        with queue_actors.app.replace_connector(queue_actors.make_connector(outage_db)) as app:
            async with app.open_async():
                await app.configure_task("tests.record").defer_async(value="after")

        async def recorded() -> bool:
            return await event_values(outage_db) == ["after"]

        await eventually(recorded, 30, "the worker to run a job once the database is up")
        assert worker.process.poll() is None
    finally:
        worker.stop()


async def test_no_worker_counts_as_stalled_until_the_server_was_up_that_long(
    server: PrivateServer, outage_app: procrastinate.App, outage_db: str
) -> None:
    [row] = await fetch(
        outage_db,
        "INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now() - interval '2 hours')"
        " RETURNING id",
    )
    await asyncio.to_thread(server.restart)
    manager = outage_app.job_manager
    # Up for less than an hour: a heartbeat two hours old says nothing yet.
    assert await manager.prune_stalled_workers(3600) == []
    assert await manager.get_stalled_jobs(seconds_since_heartbeat=3600) == []
    assert [r["id"] for r in await fetch(outage_db, "SELECT id FROM procrastinate_workers")] == [
        row["id"]
    ]
    assert await manager.prune_stalled_workers(0.001) == [row["id"]]


async def test_a_living_worker_pruned_as_stalled_registers_again_and_keeps_its_job(
    outage_app: procrastinate.App, outage_db: str, cli_worker: CliWorker
) -> None:
    await outage_app.configure_task("tests.record_when_released").defer_async(value="done")

    async def started() -> bool:
        return await event_values(outage_db) == ["done:started"]

    await eventually(started, 30, "the job to start")
    [pruned] = await fetch(outage_db, "DELETE FROM procrastinate_workers RETURNING id")

    async def registered_again() -> bool:
        workers = await fetch(outage_db, "SELECT id FROM procrastinate_workers")
        return len(workers) == 1 and workers[0]["id"] != pruned["id"]

    await eventually(registered_again, 30, "the worker to register again")
    [worker] = await fetch(outage_db, "SELECT id FROM procrastinate_workers")
    await release(outage_db, "done")

    async def finished() -> bool:
        return [row["status"] for row in await job_rows(outage_db)] == ["succeeded"]

    await eventually(finished, 30, "the job to finish")
    [job] = await job_rows(outage_db)
    assert job["worker_id"] == worker["id"]  # taken back, not left for the stalled-job upkeep
    assert await event_values(outage_db) == ["done:started", "done"]
    assert cli_worker.process.poll() is None


API = "/pulp/api/v3/"
# Every kind of endpoint: the report list, tasks, repositories, and the content app.
ENDPOINTS = [f"{API}migrationreport/", f"{API}tasks/", f"{API}repositories/"]


@pytest.fixture(params=KINDS)
def any_server(request: pytest.FixtureRequest) -> Iterator[RestartableServer]:
    """A server of each kind, stopped with its own tools (pg_ctl, pg_ctlcluster, pgserver's)."""
    with restartable_server(request.param) as running:
        yield running


async def test_the_api_answers_503_while_the_database_is_away(
    any_server: RestartableServer,
) -> None:
    async with database_on(any_server) as outage_db:
        pool = await database.create_pool(outage_db, min_size=0, command_timeout=COMMAND_TIMEOUT)
        async with pool, client_for(app_for(outage_db, pool), authenticated=True) as client:
            for path in ENDPOINTS:
                assert (await client.get(path)).status == 200
            await asyncio.to_thread(any_server.stop)
            for path in [*ENDPOINTS, "/pulp/content/somewhere/file.iso"]:
                response = await client.get(path)
                assert response.status == 503, path
                assert response.headers["Retry-After"].isdigit()
                assert await response.json() == {"detail": DATABASE_UNAVAILABLE}
            status = await client.get(f"{API}status/")
            assert status.status == 200
            assert (await status.json())["database_connection"]["connected"] is False
            await asyncio.to_thread(any_server.start)

            async def answered() -> bool:
                return all([(await client.get(path)).status == 200 for path in ENDPOINTS])

            await eventually(answered, 30, "the API to answer again")
            assert (await client.get("/pulp/content/somewhere/file.iso")).status == 404
