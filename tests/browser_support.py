"""Headless Chromium (Debian's ``chromium``) driven by Playwright, for the dashboard's tests.

Playwright's own browser builds are never downloaded: the system's chromium is launched by its
path, and a test without it is skipped naming it (``needs_chromium``).
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Page, async_playwright

CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)"
)


@contextlib.asynccontextmanager
async def browser_page() -> AsyncIterator[Page]:
    """A fresh page in a new headless Chromium, closed on the way out (tests that use it are
    marked ``needs_chromium``)."""
    assert CHROMIUM is not None
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            yield await browser.new_page()
        finally:
            await browser.close()


async def log_in(page: Page, user: str, password: str) -> None:
    """Fill the dashboard's login form and submit it."""
    await page.get_by_label("User").fill(user)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in").click()


async def bar_value(page: Page, name: str) -> int:
    """Units a step's progress bar shows as moved (done and failed), -1 while it is not drawn."""
    bar = page.get_by_role("progressbar", name=name, exact=True)
    if not await bar.count():
        return -1
    return int(await bar.get_attribute("aria-valuenow") or 0)


async def shown_status(page: Page) -> str:
    return (await page.locator("#status").text_content()) or ""
