"""A migration whose workers are killed with SIGKILL and replaced, one of them while it runs the
coordinator's poll: it completes with the undisturbed result, every unit counted once."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from pulp2to3.http import app as http_app
from pulp2to3.sample import SampleSummary, generate_sample
from pulp2to3.settings import load_settings
from tests.kill_loop_support import WorkerFleet
from tests.migration_http_support import (
    HEADERS,
    Client,
    check_complete_and_counted_once,
    check_files,
    start,
    wait_finished,
)
from tests.migration_support import worker_env, writes_held
from tests.waiting_support import eventually

SAMPLE: dict[str, Any] = dict(repos=40, units=2000, on_demand=0.5, overlap=0.3, seed=13)

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleSummary:
    return generate_sample(tmp_path_factory.mktemp("sample"), **SAMPLE)


@pytest.fixture
async def fleet(
    db_url: str, pool: asyncpg.Pool, sample: SampleSummary, tmp_path: Path
) -> AsyncIterator[WorkerFleet]:
    workers = WorkerFleet(pool, worker_env(db_url, sample, tmp_path / "media"))
    try:
        yield workers
    finally:
        workers.stop()


async def test_workers_killed_in_a_loop_lose_nothing(
    db_url: str, pool: asyncpg.Pool, sample: SampleSummary, tmp_path: Path, fleet: WorkerFleet
) -> None:
    media_root = tmp_path / "media"
    settings = load_settings(fleet.env | {"PULP2TO3_ADMIN_PASSWORD": "secret"})
    chooser = random.Random(13)
    client: Client
    async with TestClient(TestServer(http_app.init(settings, pool)), headers=HEADERS) as client:
        for _ in range(3):
            await fleet.start()
        # create_repositories takes a fraction of a second: held, its tasks wait to be killed.
        async with writes_held(pool, "repository"):
            report_href = await start(client, sample)
            migration_id = report_href.rstrip("/").rsplit("/", 1)[-1]
            for step_code in ("migrate_content.iso", "create_repositories"):
                await eventually(
                    lambda code=step_code: fleet.kill_busy(code, chooser),  # type: ignore[misc]
                    120,
                    f"a worker running a task of {step_code} to be killed",
                )
        # Held until the coordinator's worker is killed: the migration cannot end meanwhile,
        # and the coordinator polls while create_distributions waits (its polls are brief).
        async with writes_held(pool, "distribution"):
            await eventually(
                lambda: fleet.kill_coordinator(migration_id),
                120,
                "the worker running the coordinator's poll to be killed",
            )
        report = await wait_finished(client, report_href, within=240)
    assert fleet.killed == 3
    assert len(fleet.alive()) == 3
    await check_complete_and_counted_once(report, pool, sample, media_root)
    await check_files(pool, sample, media_root)
