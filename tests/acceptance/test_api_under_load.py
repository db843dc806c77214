"""The API under a steady load of report and task-list GETs while a migration runs: every request
is answered 200 and the migration completes the same (the latencies and the migration's time
under load are measured by benchmarks/api_load.py, not asserted here)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from pulp2to3.http import app as http_app
from pulp2to3.sample import SampleSummary, generate_sample
from pulp2to3.settings import load_settings
from tests.load_support import apply_load
from tests.migration_http_support import (
    API,
    HEADERS,
    Client,
    check_complete_and_counted_once,
    start,
    wait_finished,
)
from tests.migration_support import worker_env, workers

SAMPLE: dict[str, Any] = dict(repos=30, units=1500, on_demand=0.5, overlap=0.3, seed=17)
CLIENTS = 16

pytestmark = pytest.mark.timeout(300)


async def test_report_and_task_lists_answer_200_under_load_while_a_migration_runs(
    db_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    sample: SampleSummary = generate_sample(tmp_path / "sample", **SAMPLE)
    media_root = tmp_path / "media"
    env = worker_env(db_url, sample, media_root)
    settings = load_settings(env | {"PULP2TO3_ADMIN_PASSWORD": "secret"})
    client: Client
    async with TestClient(TestServer(http_app.init(settings, pool)), headers=HEADERS) as client:
        with workers(2, env):
            report_href = await start(client, sample)
            urls = [
                str(client.make_url(path))
                for path in (report_href, f"{API}tasks/", f"{API}tasks/?state=running")
            ]
            stop = asyncio.Event()
            async with aiohttp.ClientSession(headers=HEADERS) as session:
                loading = asyncio.create_task(apply_load(session, urls, CLIENTS, stop))
                report = await wait_finished(client, report_href, within=240)
                stop.set()
                load = await loading
        await check_complete_and_counted_once(report, pool, sample, media_root)
    assert load.errors == []
    assert len(load.latencies) > CLIENTS  # every client was answered, more than once
