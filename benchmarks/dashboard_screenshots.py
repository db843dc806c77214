"""The README's screenshots of the web dashboard: a running and a finished migration.

    python benchmarks/dashboard_screenshots.py

Writes docs/dashboard-running.png and docs/dashboard-finished.png. Needs Debian's chromium
(`apt-get install chromium`) and the test extra (Playwright's Python package). Generates a
sample with two unit files removed, so that the finished migration lists failed units, then on a
scratch database of the local cluster (PULP2TO3_BENCH_SERVER_URL to use another) runs
`pulp2to3 api` and one `pulp2to3 worker`, submits the sample's plan, and photographs the
dashboard in headless Chromium while the content step is part way, then once it completed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import tempfile
from pathlib import Path

import aiohttp
import common
from database_restarts import wait_for
from playwright.async_api import Page, async_playwright

from pulp2to3 import runner
from pulp2to3.pulp2 import open_dump
from pulp2to3.sample import SampleSummary, generate_sample
from pulp2to3.schema import init_db

SERVER_URL = os.environ.get("PULP2TO3_BENCH_SERVER_URL", common.LOCAL_SERVER)
DOCS = Path(__file__).resolve().parents[1] / "docs"
CHROMIUM = "/usr/bin/chromium"
USER, PASSWORD = "admin", secrets.token_urlsafe(12)
VIEWPORT = {"width": 1280, "height": 900}
CONTENT = "migrate_content.iso"
RATE_COLUMN = 6


def damaged_sample(work: Path, units: int) -> SampleSummary:
    """A generated sample whose first two downloaded units lost their file."""
    shutil.rmtree(work, ignore_errors=True)
    sample = generate_sample(work, repos=12, units=units, on_demand=0.3, seed=5)
    downloaded = (
        unit
        for unit in open_dump(sample.dump_path).iter_collection("units_iso")
        if unit.get("downloaded", True)
    )
    for unit, _ in zip(downloaded, range(2), strict=False):
        (sample.pulp_root / str(unit["_storage_path"]).removeprefix("/var/lib/pulp/")).unlink(
            missing_ok=True
        )
    return sample


async def content_rate_shown(page: Page) -> bool:
    """Whether the content step's rate cell shows a figure (after a few seconds of running)."""
    cells = page.locator("#steps tr", has_text=CONTENT).locator("td")
    return await cells.count() > RATE_COLUMN and await cells.nth(RATE_COLUMN).text_content() != "—"


async def content_share(page: Page) -> float:
    """How far the content step's bar is, 0 to 1."""
    bar = page.get_by_role("progressbar", name=CONTENT)
    if not await bar.count():
        return 0.0
    now = float(await bar.get_attribute("aria-valuenow") or 0)
    total = float(await bar.get_attribute("aria-valuemax") or 0)
    return now / total if total else 0.0


async def listening(base: str) -> bool:
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{base}/pulp/api/v3/status/") as response,
        ):
            return response.status == 200
    except aiohttp.ClientConnectionError:
        return False


async def photograph(base: str, migration_id: str) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM)
        page = await browser.new_page(viewport=VIEWPORT)
        await page.goto(f"{base}/ui/")
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Log in").click()
        await page.goto(f"{base}/ui/#/migrations/{migration_id}")

        async def part_way() -> bool:
            return await content_share(page) >= 0.3 and await content_rate_shown(page)

        await wait_for(part_way, "the content step to be part way, with a rate")
        await page.screenshot(path=DOCS / "dashboard-running.png")

        async def completed() -> bool:
            return await page.locator("#status").text_content() == "completed"

        await wait_for(completed, "the migration to complete")
        await page.screenshot(path=DOCS / "dashboard-finished.png")
        await browser.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=40000)
    parser.add_argument("--port", type=int, default=24897, help="the API's, on 127.0.0.1")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "pulp2to3-ui")
    args = parser.parse_args()
    sample = damaged_sample(args.work / "sample", args.units)
    async with common.scratch_database(SERVER_URL) as url:
        async with runner.connection_to(url) as connection:
            await init_db(connection)
        port = args.port
        env = common.migration_environment(
            url,
            sample,
            args.work / "media",
            admin_user=USER,
            admin_password=PASSWORD,
            api_bind=f"127.0.0.1:{port}",
        )
        base = f"http://127.0.0.1:{port}"
        api = runner.api_process(env)
        try:
            with runner.worker_processes(1, env):
                await wait_for(lambda: listening(base), "the API to listen")
                async with runner.connection_to(url) as connection:
                    migration_id = await runner.submit(connection, sample.plan_path.read_text())
                await photograph(base, str(migration_id))
        finally:
            runner.stop_processes([api])
    for name in ("dashboard-running.png", "dashboard-finished.png"):
        print(f"{DOCS / name}: {(DOCS / name).stat().st_size // 1024} KiB")


if __name__ == "__main__":
    asyncio.run(main())
