"""A whole migration through PostgreSQL restarts: the workers live on, the interrupted batches
run again, the result is the undisturbed one. The server is a private one the test restarts."""

from __future__ import annotations

import asyncio
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
from tests.private_postgres_support import PrivateServer, database_on, private_server
from tests.waiting_support import eventually

# Enough for the content step to have several batches and the publication step three.
SAMPLE: dict[str, Any] = dict(repos=60, units=2400, on_demand=0.5, overlap=0.3, seed=11)

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleSummary:
    return generate_sample(tmp_path_factory.mktemp("sample"), **SAMPLE)


@pytest.fixture
def server() -> Iterator[PrivateServer]:
    with private_server() as running:
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
    server: PrivateServer, sample: SampleSummary, tmp_path: Path
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
                report_href = await start(client, sample)
                for step_code in ("migrate_content.iso", "create_publications"):
                    await eventually(
                        lambda code=step_code: step_running(db_url, code),  # type: ignore[misc]
                        120,
                        f"a task of {step_code} to run",
                    )
                    await asyncio.to_thread(server.restart)
                report = await finished_report(client, report_href)
                assert [process.poll() for process in processes] == [None, None]
            check_report(report)
            await check_result(pool, sample, media_root)
            await check_files(pool, sample, media_root)
