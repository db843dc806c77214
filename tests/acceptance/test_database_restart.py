"""A whole migration through PostgreSQL restarts: the workers live on, the interrupted batches
run again, the result is the undisturbed one. The server is one of the test's own, restarted
with its real tools: ``pg_ctl`` on a private data folder, ``pg_ctlcluster`` on a Debian cluster,
and the embedded server's stop and start (pgserver, what ``demo`` and the quick start use)."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from pulp2to3 import database
from pulp2to3.http import app as http_app
from pulp2to3.sample import SampleSummary, generate_sample
from pulp2to3.settings import load_settings
from tests.migration_http_support import (
    HEADERS,
    Client,
    check_files,
    check_report,
    check_result,
    start,
)
from tests.migration_support import worker_env, workers
from tests.private_postgres_support import (
    KINDS,
    RestartableServer,
    database_on,
    restartable_server,
)
from tests.waiting_support import eventually

# Enough for the content step to have several batches and the publication step three.
SAMPLE: dict[str, Any] = dict(repos=60, units=2400, on_demand=0.5, overlap=0.3, seed=11)

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleSummary:
    return generate_sample(tmp_path_factory.mktemp("sample"), **SAMPLE)


@pytest.fixture(params=KINDS)
def server(request: pytest.FixtureRequest) -> Iterator[RestartableServer]:
    with restartable_server(request.param) as running:
        yield running


async def step_running(db_url: str, step_code: str) -> bool:
    """Whether a task of ``step_code`` is running (asked on a connection of its own)."""
    connection = await asyncpg.connect(db_url)
    try:
        running: int = await connection.fetchval(
            "SELECT count(*) FROM migration_task t JOIN procrastinate_jobs j ON j.id = t.job_id"
            " WHERE t.step_code = $1 AND j.status = 'doing'",
            step_code,
        )
    finally:
        await connection.close()
    return running > 0


async def holding(db_url: str, table: str) -> asyncpg.Connection:
    """A connection holding ``table``: whatever writes it waits (readers do not), so the step
    that writes it is still running when the server goes away, however fast it is; the
    restart ends the hold."""
    connection = await asyncpg.connect(db_url)
    await connection.execute(f"BEGIN; LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
    return connection


async def restart_then_hold(
    server: RestartableServer, db_url: str, table: str
) -> asyncpg.Connection:
    """Restart the server; return a connection to the restarted one holding ``table``, taken as
    soon as it answers (the workers reconnect with a backoff; a tool like pg_ctlcluster may
    return seconds after the server is back, by when a later step could have come and gone)."""
    before = await server_started_at(db_url)
    restart = asyncio.ensure_future(asyncio.to_thread(server.restart))
    holder: asyncpg.Connection | None = None

    async def held_on_the_restarted_server() -> bool:
        nonlocal holder
        try:
            if await server_started_at(db_url) <= before:
                return False
            holder = await holding(db_url, table)
        except (  # away, or going (a statement cut by the shutdown: InternalClientError)
            OSError,
            asyncpg.PostgresError,
            asyncpg.InterfaceError,
            asyncpg.InternalClientError,
        ):
            return False
        return True

    await eventually(held_on_the_restarted_server, 120, f"the restarted server to hold {table}")
    await restart
    assert holder is not None
    return holder


async def server_started_at(db_url: str) -> datetime.datetime:
    connection = await asyncpg.connect(db_url)
    try:
        started: datetime.datetime = await connection.fetchval("SELECT pg_postmaster_start_time()")
    finally:
        await connection.close()
    return started


async def finished_report(client: Client, report_href: str) -> dict[str, Any]:
    report: dict[str, Any] = {}

    async def finished() -> bool:
        nonlocal report
        response = await client.get(report_href)
        if response.status == 503:  # the server is still coming back
            return False
        assert response.status == 200, await response.text()
        report = await response.json()
        return report["status"] in ("completed", "failed", "canceled")

    await eventually(finished, 240, "the migration to finish")
    return report


async def test_a_migration_through_two_postgresql_restarts_completes_the_same(
    server: RestartableServer, sample: SampleSummary, tmp_path: Path
) -> None:
    media_root = tmp_path / "media"
    async with database_on(server) as db_url:
        env = worker_env(db_url, sample, media_root)
        pool = await database.create_pool(db_url, min_size=0)
        settings = load_settings(env | {"PULP2TO3_ADMIN_PASSWORD": "secret"})
        async with (
            pool,
            TestClient(TestServer(http_app.init(settings, pool)), headers=HEADERS) as client,
        ):
            with workers(2, env) as processes:
                content_held = await holding(db_url, "content")
                report_href = await start(client, sample)
                await eventually(
                    lambda: step_running(db_url, "migrate_content.iso"),
                    120,
                    "a content task to run",
                )
                publications_held = await restart_then_hold(server, db_url, "publication")
                content_held.terminate()
                await eventually(
                    lambda: step_running(db_url, "create_publications"),
                    120,
                    "a publication task to run",
                )
                await asyncio.to_thread(server.restart)
                publications_held.terminate()
                report = await finished_report(client, report_href)
                assert [process.poll() for process in processes] == [None, None]
            check_report(report)
            await check_result(pool, sample, media_root)
            await check_files(pool, sample, media_root)
