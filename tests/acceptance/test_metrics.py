"""GET /metrics during a real migration (real workers, real HTTP): its figures are the report's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from pulp2to3.sample import SampleSummary, generate_sample
from tests.migration_http_support import Client, api_client, call, start, wait_finished
from tests.migration_support import worker_env, workers
from tests.waiting_support import eventually

pytestmark = pytest.mark.timeout(300)

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleSummary:
    return generate_sample(tmp_path_factory.mktemp("sample"), repos=8, units=1500, seed=3)


@pytest.fixture
async def client(
    db_url: str, pool: asyncpg.Pool, sample: SampleSummary, tmp_path: Path
) -> AsyncIterator[Client]:
    async with api_client(db_url, pool, sample, tmp_path / "media") as client:
        yield client


async def scrape(client: Client) -> Samples:
    response = await client.get("/metrics")
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(await response.text())
        for sample in family.samples
    }


def step_figure(samples: Samples, name: str, migration: str, step: str) -> float:
    return samples[(name, (("migration", migration), ("step", step)))]


def check_against(samples: Samples, report: dict[str, Any]) -> None:
    """Every figure of the report (steps' counters, tasks by state, status) is in the scrape."""
    migration = report["pulp_href"].rstrip("/").rsplit("/", 1)[-1]
    for step in report["steps"]:
        code = step["code"]
        assert (
            step_figure(samples, "pulp2to3_units_migrated_total", migration, code) == step["done"]
        )
        assert (
            step_figure(samples, "pulp2to3_units_failed_total", migration, code) == step["failed"]
        )
        assert step_figure(samples, "pulp2to3_step_units", migration, code) == step["total"]
        ran = (("migration", migration), ("step", code))
        assert (("pulp2to3_step_duration_seconds", ran) in samples) == (
            step["started_at"] is not None
        )
    tasks = {
        labels[1][1]: value
        for (name, labels), value in samples.items()
        if name == "pulp2to3_tasks" and labels[0] == ("migration", migration)
    }
    for task_state, count in report_task_states(report).items():
        assert tasks.get(task_state, 0) >= count
    status = {
        labels[1][1]
        for (name, labels), value in samples.items()
        if name == "pulp2to3_migration_status" and labels[0] == ("migration", migration) and value
    }
    assert status == {report["status"]}


def report_task_states(report: dict[str, Any]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for step in report["steps"]:
        for task_state, count in step["task_counts"].items():
            totals[task_state] = totals.get(task_state, 0) + count
    return totals


async def test_metrics_follow_a_real_migration(
    client: Client, db_url: str, sample: SampleSummary, tmp_path: Path
) -> None:
    async with aiohttp.ClientSession() as anonymous:
        response = await anonymous.get(client.make_url("/metrics"))
        assert response.status == 401

    with workers(2, worker_env(db_url, sample, tmp_path / "media")):
        report_href = await start(client, sample)

        async def content_moving() -> bool:
            report = await call(client, "GET", report_href, 200)
            if report["status"] == "completed":
                return True
            return report["status"] == "running" and any(
                s["code"].startswith("migrate_content") and s["done"] > 0 for s in report["steps"]
            )

        await eventually(content_moving, 120, "the migration to migrate its first content")
        await call(client, "PATCH", report_href, 200, {"status": "paused"})

        report: dict[str, Any] = {}

        async def paused() -> bool:
            nonlocal report
            report = await call(client, "GET", report_href, 200)
            return report["status"] in ("paused", "completed")

        await eventually(paused, 120, "the migration to pause")
        # Paused, nothing moves: the scrape and the report read the same figures.
        samples = await scrape(client)
        check_against(samples, report)
        assert samples[("pulp2to3_workers_online", ())] == 2

        if report["status"] == "paused":
            await call(client, "PATCH", report_href, 200, {"status": "running"})
        report = await wait_finished(client, report_href)
        samples = await scrape(client)

    assert report["status"] == "completed"
    check_against(samples, report)
    content = next(s for s in report["steps"] if s["code"].startswith("migrate_content"))
    batches = samples[("pulp2to3_batch_duration_seconds_count", (("step", content["code"]),))]
    assert 0 < batches <= content["task_counts"]["completed"]
    assert (
        samples[
            ("pulp2to3_batch_duration_seconds_bucket", (("le", "+Inf"), ("step", content["code"])))
        ]
        == batches
    )
