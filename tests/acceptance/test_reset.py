"""Running a plan again, with real workers: after a reset (what the plan's plugins migrated and
the Pulp 2 mapping are gone, artifact files included, and the next run migrates everything
again, the same), and with nothing changed (no content batch is queued)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from pulp2to3.sample import SampleSummary, generate_sample
from tests.migration_http_support import (
    API,
    Client,
    api_client,
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
    async with api_client(db_url, pool, sample, tmp_path / "media") as client:
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


async def run_plan(client: Client, plan: dict[str, Any]) -> dict[str, Any]:
    created = await call(client, "POST", f"{API}migration-plans/", 201, {"plan": plan})
    run = await call(client, "POST", created["pulp_href"] + "run/", 202, {"validate": True})
    return await wait_finished(client, run["report"])


async def pulp2_repository(client: Client, repo_id: str) -> dict[str, Any]:
    url = f"{API}pulp2repositories/?pulp2_repo_id={repo_id}"
    [found] = (await call(client, "GET", url, 200))["results"]
    return dict(found)


async def distribution_hrefs(client: Client) -> set[str]:
    listed = await call(client, "GET", f"{API}distributions/?limit=1000", 200)
    return {d["pulp_href"] for d in listed["results"]}


async def test_a_repository_the_plan_no_longer_names_loses_its_distributions_only(
    client: Client, db_url: str, pool: asyncpg.Pool, sample: SampleSummary, tmp_path: Path
) -> None:
    media_root = tmp_path / "media"
    plan = json.loads(sample.plan_path.read_text())
    [iso] = plan["plugins"]
    dropped, *kept = iso["repositories"]
    repo_id = dropped["repository_versions"][0]["pulp2_repository_id"]
    smaller = {"plugins": [{**iso, "repositories": kept}]}
    with workers(2, worker_env(db_url, sample, media_root)):
        assert (await run_plan(client, plan))["status"] == "completed"
        served = await pulp2_repository(client, repo_id)
        before = await distribution_hrefs(client)
        assert (await run_plan(client, smaller))["status"] == "completed"
        outside = await pulp2_repository(client, repo_id)
        after = await distribution_hrefs(client)
        again = await run_plan(client, plan)
    assert again["status"] == "completed", again
    assert (served["not_in_plan"], outside["not_in_plan"]) == (False, True)
    assert served["pulp3_distribution_hrefs"]
    assert outside["pulp3_distribution_hrefs"] == []
    assert before - after == set(served["pulp3_distribution_hrefs"])
    assert after <= before
    # The repository and its versions stay.
    assert outside["pulp3_repository_href"] == served["pulp3_repository_href"]
    assert outside["pulp3_repository_version"] == served["pulp3_repository_version"]
    # Named again, it is served again: the whole target is a single clean run's.
    assert (await pulp2_repository(client, repo_id))["not_in_plan"] is False
    await check_result(pool, sample, media_root)
