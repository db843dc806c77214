"""The web dashboard in real headless Chromium, against the real API and real worker processes:
it logs in with the API's credentials, follows a migration live, and pauses, resumes and cancels
it with its buttons."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Dialog, Page, Request

from pulp2to3.http import app as http_app
from pulp2to3.pulp2 import open_dump
from pulp2to3.sample import SampleSummary, generate_sample
from pulp2to3.settings import load_settings
from tests.browser_support import bar_value, browser_page, log_in, needs_chromium, shown_status
from tests.migration_http_support import (
    API,
    HEADERS,
    Client,
    call,
    job_states,
    start,
    wait_finished,
)
from tests.migration_support import worker_env, workers
from tests.sample_support import local
from tests.waiting_support import eventually

pytestmark = [pytest.mark.timeout(300), needs_chromium]

CONTENT = "migrate_content.iso"
# Big enough that one worker is still migrating content while the page pauses, resumes and
# cancels it.
BIG = dict(repos=10, units=45000, on_demand=0.3, seed=13)


@pytest.fixture(scope="module")
def big_sample(tmp_path_factory: pytest.TempPathFactory) -> SampleSummary:
    return generate_sample(tmp_path_factory.mktemp("big"), **BIG)


@pytest.fixture
def small_sample(tmp_path: Path) -> SampleSummary:
    return generate_sample(tmp_path / "small", repos=3, units=120, on_demand=0.2, seed=11)


def api_client(
    db_url: str, pool: asyncpg.Pool, sample: SampleSummary, media: Path, password: bool = True
) -> Client:
    """A client of the API (``admin``/``secret``, or no password at all: ``--insecure-dev``)."""
    env = worker_env(db_url, sample, media)
    if password:
        env["PULP2TO3_ADMIN_PASSWORD"] = "secret"
    return TestClient(TestServer(http_app.init(load_settings(env), pool)), headers=HEADERS)


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    async with browser_page() as page:
        yield page


async def open_migration(page: Page, client: Client, report_href: str) -> None:
    """Log in on the dashboard's own URL and open the migration from the list."""
    await page.goto(str(client.make_url("/")))
    await log_in(page, "admin", "secret")
    migration_id = report_href.rstrip("/").rsplit("/", 1)[-1]
    await page.get_by_role("link", name=migration_id[:8]).click()
    await page.locator("#migration-id", has_text=migration_id).wait_for()


async def status_in_api(client: Client, report_href: str, wanted: str) -> bool:
    report = await call(client, "GET", report_href, 200)
    return bool(report["status"] == wanted)


async def status_on_page(page: Page, wanted: str) -> bool:
    return await shown_status(page) == wanted


async def bar_moves_past(page: Page, value: int) -> None:
    async def moved() -> bool:
        return await bar_value(page, CONTENT) > value

    await eventually(moved, 60, f"the {CONTENT} bar to move past {value}")


async def test_wrong_credentials_are_refused(
    db_url: str, pool: asyncpg.Pool, small_sample: SampleSummary, tmp_path: Path, page: Page
) -> None:
    async with api_client(db_url, pool, small_sample, tmp_path / "media") as client:
        await start(client, small_sample)
        # The page itself needs no credentials; the API calls it makes do.
        response = await page.goto(str(client.make_url("/ui/")))
        assert response is not None
        assert response.ok
        assert "default-src 'self'" in response.headers["content-security-policy"]
        await log_in(page, "admin", "not the password")
        await page.get_by_text("Invalid username/password.").wait_for()
        assert await page.locator("#list").is_hidden()
        assert await page.locator("#migrations tr").count() == 0

        await log_in(page, "admin", "secret")
        await page.locator("#migrations tr").first.wait_for()
        assert await page.locator("#login").is_hidden()
        assert await page.locator("#migrations tr").count() == 1


async def test_without_a_password_the_dashboard_needs_no_login(
    db_url: str, pool: asyncpg.Pool, small_sample: SampleSummary, tmp_path: Path, page: Page
) -> None:
    async with api_client(db_url, pool, small_sample, tmp_path / "media", password=False) as client:
        report_href = await start(client, small_sample)
        await page.goto(str(client.make_url("/")))
        migration_id = report_href.rstrip("/").rsplit("/", 1)[-1]
        await page.get_by_role("link", name=migration_id[:8]).wait_for()
        assert await page.locator("#login").is_hidden()


async def test_the_buttons_pause_resume_and_cancel_a_running_migration(
    db_url: str, pool: asyncpg.Pool, big_sample: SampleSummary, tmp_path: Path, page: Page
) -> None:
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    async with api_client(db_url, pool, big_sample, tmp_path / "media") as client:
        with workers(1, worker_env(db_url, big_sample, tmp_path / "media")):
            report_href = await start(client, big_sample)
            await open_migration(page, client, report_href)
            await page.evaluate("window.notReloaded = true")

            # Moving bars: the content step's bar advances while the page stays loaded.
            await bar_moves_past(page, 0)
            await bar_moves_past(page, await bar_value(page, CONTENT))
            assert await status_on_page(page, "running")

            await page.get_by_role("button", name="Pause").click()
            await eventually(
                lambda: status_in_api(client, report_href, "paused"), 60, "the pause to hold"
            )
            assert (await job_states(pool, report_href))["task doing"] == 0
            await eventually(lambda: status_on_page(page, "paused"), 30, "the page to say paused")
            assert await page.get_by_role("button", name="Pause").is_disabled()
            paused_at = await bar_value(page, CONTENT)

            await page.get_by_role("button", name="Resume").click()
            await eventually(
                lambda: status_in_api(client, report_href, "running"), 30, "the resume"
            )
            await bar_moves_past(page, paused_at)

            # Cancel asks first: dismissed, nothing is sent; accepted, the migration ends.
            questions: list[str] = []

            async def answer(dialog: Dialog, accept: bool) -> None:
                questions.append(dialog.message)
                await (dialog.accept() if accept else dialog.dismiss())

            asked = len(requests)
            page.once("dialog", lambda dialog: answer(dialog, accept=False))
            await page.get_by_role("button", name="Cancel").click()

            async def polled_again() -> bool:
                return any(r.method == "GET" and report_href in r.url for r in requests[asked:])

            await eventually(polled_again, 30, "the page to poll after the dismissed question")
            assert len(questions) == 1
            assert [r for r in requests if r.method == "PATCH"][2:] == []
            assert await status_in_api(client, report_href, "running")

            page.once("dialog", lambda dialog: answer(dialog, accept=True))
            await page.get_by_role("button", name="Cancel").click()
            await eventually(
                lambda: status_in_api(client, report_href, "canceled"), 30, "the cancel"
            )
            await eventually(
                lambda: status_on_page(page, "canceled"), 30, "the page to say canceled"
            )

        report = await call(client, "GET", report_href, 200)
        assert report_href.rstrip("/").rsplit("/", 1)[-1] in questions[1]
        assert [r.post_data_json for r in requests if r.method == "PATCH"] == [
            {"status": "paused"},
            {"status": "running"},
            {"status": "canceled"},
        ]
        for name in ("Pause", "Resume", "Cancel"):
            assert await page.get_by_role("button", name=name).is_disabled()
        content = next(s for s in report["steps"] if s["code"] == CONTENT)
        assert 0 < content["done"] < content["total"]
        await eventually(
            lambda: shown_final(page, report), 30, "the page to show the canceled report"
        )
        assert await page.evaluate("window.notReloaded") is True


async def shown_final(page: Page, report: dict[str, Any]) -> bool:
    """The page shows each step's status and figures as the (finished) report has them."""
    rows = await page.locator("#steps tr").all()
    if len(rows) != len(report["steps"]):
        return False
    for row, step in zip(rows, report["steps"], strict=True):
        cells = [await cell.text_content() for cell in await row.locator("td").all()]
        if cells[:2] != [step["code"], step["status"]]:
            return False
        if cells[3:6] != [str(step["done"]), str(step["failed"]), str(step["total"])]:
            return False
        if await bar_value(page, step["code"]) != step["done"] + step["failed"]:
            return False
    return True


async def test_a_finished_migration_shows_its_failed_units_and_task_counts(
    db_url: str, pool: asyncpg.Pool, small_sample: SampleSummary, tmp_path: Path, page: Page
) -> None:
    unit = next(
        unit
        for unit in open_dump(small_sample.dump_path).iter_collection("units_iso")
        if unit.get("downloaded", True)
    )
    local(small_sample, unit["_storage_path"]).unlink()
    media = tmp_path / "media"
    async with api_client(db_url, pool, small_sample, media) as client:
        report_href = await start(client, small_sample)
        await open_migration(page, client, report_href)
        assert await status_on_page(page, "waiting")
        with workers(1, worker_env(db_url, small_sample, media)):
            report = await wait_finished(client, report_href)
        assert report["status"] == "completed"
        await eventually(lambda: shown_final(page, report), 30, "the page to show the report")
        assert await status_on_page(page, "completed")

        failures = [
            (s["code"], f["unit"], f["reason"]) for s in report["steps"] for f in s["failed_units"]
        ]
        assert [(CONTENT, unit["_id"])] == [(step, unit_id) for step, unit_id, _ in failures]
        shown = [
            tuple([await cell.text_content() for cell in await row.locator("td").all()])
            for row in await page.locator("#failed-units tr").all()
        ]
        assert shown == failures

        totals: dict[str, int] = {}
        for step in report["steps"]:
            for state, count in step["task_counts"].items():
                totals[state] = totals.get(state, 0) + count
        for state, count in totals.items():
            cell = page.locator(f"#task-counts td[data-state={state}]")
            assert await cell.text_content() == str(count)
        assert totals["completed"] > 0
        failed_tasks = await call(
            client, "GET", f"{API}tasks/?report={report_href}&state=failed", 200
        )
        assert failed_tasks["count"] == 0
        assert await page.locator("#failed-tasks").text_content() == "None."


async def test_a_failed_migration_shows_its_error_and_its_failed_task(
    db_url: str, pool: asyncpg.Pool, small_sample: SampleSummary, tmp_path: Path, page: Page
) -> None:
    broken = tmp_path / "broken.archive"
    data = small_sample.dump_path.read_bytes()
    broken.write_bytes(data[: len(data) // 3])
    env = worker_env(db_url, small_sample, tmp_path / "media") | {
        "PULP2TO3_PULP2_DUMP": str(broken)
    }
    async with api_client(db_url, pool, small_sample, tmp_path / "media") as client:
        report_href = await start(client, small_sample)
        await open_migration(page, client, report_href)
        with workers(1, env):
            report = await wait_finished(client, report_href, within=60)
        assert report["status"] == "failed"
        failed = await call(client, "GET", f"{API}tasks/?report={report_href}&state=failed", 200)
        assert failed["count"] >= 1
        await eventually(lambda: status_on_page(page, "failed"), 30, "the page to say failed")

        async def error_shown() -> bool:
            return await page.locator("#report-error").text_content() == report["error"]

        await eventually(error_shown, 30, "the page to show the migration's error")
        shown = [
            await row.locator("summary").text_content()
            for row in await page.locator("#failed-tasks tr").all()
        ]
        assert shown == [task["error"]["description"] for task in failed["results"]]
