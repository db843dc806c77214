"""Running a plan again, with real workers: after a reset (what the plan's plugins migrated and
the Pulp 2 mapping are gone, artifact files included, and the next run migrates everything
again, the same), and with nothing changed (no content batch is queued)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from pulp2to3.http import app as http_app
from pulp2to3.sample import SampleSummary, generate_sample
from pulp2to3.settings import load_settings
from tests.migration_http_support import (
    HEADERS,
    Client,
    call,
    check_result,
    start,
    wait_finished,
)
from tests.migration_support import worker_env, workers

pytestmark = pytest.mark.timeout(300)

# Everything a migration of ISO content writes, on both sides.
TABLES = (
    "distribution", "publication", "published_artifact", "published_metadata",
    "repository_version_origin", "repository_content", "repository_version", "repository",
    "remote_artifact", "remote", "content_artifact", "file_content", "content", "artifact",
    "pulp2_repository", "pulp2_importer", "pulp2_distributor", "pulp2_repo_content",
    "pulp2_content", "pulp2_lazy_catalog",
)  # fmt: skip


@pytest.fixture
def sample(tmp_path: Path) -> SampleSummary:
    return generate_sample(tmp_path / "sample", repos=4, units=150, on_demand=0.3, seed=3)


@pytest.fixture
async def client(
    db_url: str, pool: asyncpg.Pool, sample: SampleSummary, tmp_path: Path
) -> AsyncIterator[Client]:
    env = worker_env(db_url, sample, tmp_path / "media") | {"PULP2TO3_ADMIN_PASSWORD": "secret"}
    server = TestServer(http_app.init(load_settings(env), pool))
    async with TestClient(server, headers=HEADERS) as client:
        yield client


async def test_a_reset_removes_everything_migrated_and_the_next_run_starts_over(
    client: Client, db_url: str, pool: asyncpg.Pool, sample: SampleSummary, tmp_path: Path
) -> None:
    media_root = tmp_path / "media"
    env = worker_env(db_url, sample, media_root)
    with workers(2, env):
        report = await wait_finished(client, await start(client, sample))
        assert report["status"] == "completed", report
        plan = report["plan"]
        reset = await call(client, "POST", plan + "reset/", 202)
        done = await wait_finished(client, reset["report"], within=60)
        assert (done["kind"], done["status"]) == ("reset", "completed"), done
        async with pool.acquire() as connection:
            left = {
                table: await connection.fetchval(f"SELECT count(*) FROM {table}")
                for table in TABLES
            }
        assert left == dict.fromkeys(TABLES, 0)
        assert not [path for path in media_root.rglob("*") if path.is_file()]
        task = await call(client, "GET", reset["task"], 200)
        assert task["state"] == "completed"

        again = await wait_finished(client, await start(client, sample))
    assert again["status"] == "completed", again
    await check_result(pool, sample, media_root)


async def test_a_run_with_nothing_changed_queues_no_content_batch_and_says_skipped(
    client: Client, db_url: str, pool: asyncpg.Pool, sample: SampleSummary, tmp_path: Path
) -> None:
    media_root = tmp_path / "media"
    with workers(2, worker_env(db_url, sample, media_root)):
        first = await wait_finished(client, await start(client, sample))
        assert first["status"] == "completed", first
        again = await wait_finished(client, await start(client, sample))
    assert again["status"] == "completed", again
    content = next(s for s in again["steps"] if s["code"] == "migrate_content.iso")
    assert (content["status"], content["tasks"], content["total"]) == ("skipped", [], 0)
    group_href = again["pulp_href"].replace("migrationreport", "task-groups")
    names = {task["name"] for task in (await call(client, "GET", group_href, 200))["tasks"]}
    assert "pulp2to3.premigrate" in names
    assert "pulp2to3.migrate_content.iso" not in names
    await check_result(pool, sample, media_root)
