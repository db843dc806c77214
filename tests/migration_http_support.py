"""What the whole-migration tests share: the API client's calls, and the checks of a finished
migration against what the sample holds."""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from pulp2to3.http import app as http_app
from pulp2to3.pulp2 import open_dump
from pulp2to3.sample import SampleSummary
from pulp2to3.settings import load_settings
from tests.migration_support import actual_state, expected_state, worker_env
from tests.waiting_support import eventually

API = "/pulp/api/v3/"
CREATED_BY_STEP = {
    "create_repositories": ("repositories/", "remotes/"),
    "create_publications": ("publications/",),
    "create_distributions": ("distributions/",),
}
HEADERS = {"Authorization": aiohttp.encode_basic_auth("admin", "secret")}
STEP_ORDER = [
    "premigrate",
    "premigrate_merge",
    "migrate_content.iso",
    "compute_version_content",
    "create_repositories",
    "create_repo_versions",
    "create_publications",
    "create_distributions",
]

Client = TestClient[web.Request, web.Application]


def api_client(
    db_url: str, pool: asyncpg.Pool, sample: SampleSummary, media: Path, password: bool = True
) -> Client:
    """A client of the API and content app over real HTTP, set up as the workers migrating
    ``sample`` are (``admin``/``secret``, or no password at all: ``--insecure-dev``)."""
    env = worker_env(db_url, sample, media)
    if password:
        env["PULP2TO3_ADMIN_PASSWORD"] = "secret"
    return TestClient(TestServer(http_app.init(load_settings(env), pool)), headers=HEADERS)


async def call(client: Client, method: str, path: str, expected: int, body: Any = None) -> Any:
    response = await client.request(method, path, json=body)
    text = await response.text()
    assert response.status == expected, text
    return await response.json() if text else None


async def new_plan(client: Client, plan: Any = None) -> dict[str, Any]:
    """A plan (every ISO repository, unless ``plan`` says otherwise), created over HTTP."""
    body = {"plan": plan or {"plugins": [{"type": "iso"}]}}
    created: dict[str, Any] = await call(client, "POST", f"{API}migration-plans/", 201, body)
    return created


async def start(client: Client, sample: SampleSummary, **options: bool) -> str:
    """Create the sample's plan and run it (with ``validate`` and the run ``options``)."""
    plan = await call(
        client, "POST", f"{API}migration-plans/", 201, {"plan": sample.plan_path.read_text()}
    )
    run = await call(client, "POST", plan["pulp_href"] + "run/", 202, {"validate": True, **options})
    report_href: str = run["report"]
    return report_href


async def wait_finished(client: Client, report_href: str, within: float = 180) -> dict[str, Any]:
    report: dict[str, Any] = {}

    async def finished() -> bool:
        nonlocal report
        report = await call(client, "GET", report_href, 200)
        return report["status"] in ("completed", "failed", "canceled")

    await eventually(finished, within, f"the migration {report_href} to finish")
    return report


async def check_result(pool: asyncpg.Pool, sample: SampleSummary, media_root: Path) -> None:
    expected = expected_state(sample)
    async with pool.acquire() as connection:
        actual = await actual_state(connection, media_root)
        duplicates = await connection.fetchval(
            "SELECT count(*) - count(DISTINCT (relative_path, digest, size)) FROM file_content"
        )
    assert duplicates == 0
    assert actual.content == expected.content
    assert actual.artifacts == expected.artifacts
    assert actual.on_demand_urls == expected.on_demand_urls
    assert actual.versions == expected.versions
    assert actual.base_paths == expected.base_paths
    assert actual.manifests == expected.manifests


async def check_files(pool: asyncpg.Pool, sample: SampleSummary, media_root: Path) -> None:
    """Every downloaded file is one artifact, a hard link of its source, with the right sha256."""
    sources: dict[str, set[int]] = {}  # sha256 -> inodes of the source files with that content
    for unit in open_dump(sample.dump_path).iter_collection("units_iso"):
        if unit.get("downloaded", True):
            path = sample.pulp_root / unit["_storage_path"].removeprefix("/var/lib/pulp/")
            sources.setdefault(unit["checksum"], set()).add(os.stat(path).st_ino)
    async with pool.acquire() as connection:
        rows = await connection.fetch(
            "SELECT DISTINCT a.sha256, a.file FROM artifact a"
            " JOIN content_artifact ca ON ca.artifact_id = a.id"
        )
    assert len(rows) == len(sources)
    for row in rows:
        stored = media_root / row["file"]
        assert os.stat(stored).st_ino in sources[row["sha256"]]
        assert hashlib.sha256(stored.read_bytes()).hexdigest() == row["sha256"]


async def job_states(pool: asyncpg.Pool, report_href: str) -> Counter[str]:
    """How many of the migration's tasks and polls are queued or running ("task todo",
    "poll doing"...)."""
    migration_id = report_href.rstrip("/").rsplit("/", 1)[-1]
    async with pool.acquire() as connection:
        rows = await connection.fetch(
            "SELECT 'task ' || j.status AS state FROM migration_task t JOIN procrastinate_jobs j"
            " ON j.id = t.job_id WHERE t.migration_id = $1 AND j.status IN ('todo', 'doing')"
            " UNION ALL SELECT 'poll ' || status FROM procrastinate_jobs WHERE lock = $2"
            " AND status IN ('todo', 'doing')",
            migration_id,
            f"pulp2to3.coordinator.{migration_id}",
        )
    return Counter(row["state"] for row in rows)


def check_report(report: dict[str, Any]) -> None:
    assert report["status"] == "completed", report
    assert [step["code"] for step in report["steps"]] == STEP_ORDER
    for step in report["steps"]:
        # A step with nothing to do (no task) says skipped.
        assert step["status"] == ("completed" if step["tasks"] else "skipped"), step
        assert step["done"] == step["total"], step
        assert step["failed"] == 0, step
        assert step["task_counts"]["completed"] == len(step["tasks"]), step
    # No step started before every step it needs finished.
    steps = {step["code"]: step for step in report["steps"]}
    for step in report["steps"]:
        for need in step["needs"]:
            assert steps[need]["finished_at"] <= step["started_at"], (steps[need], step)


async def check_complete_and_counted_once(
    report: dict[str, Any], pool: asyncpg.Pool, sample: SampleSummary, media_root: Path
) -> None:
    """After a crash: the same result as a clean run, and every unit counted exactly once."""
    check_report(report)
    await check_result(pool, sample, media_root)
    async with pool.acquire() as connection:
        counted = await connection.fetchval(
            "SELECT sum(done) FROM migration_batch_progress WHERE step_code = 'migrate_content.iso'"
        )
    assert counted == sample.units
