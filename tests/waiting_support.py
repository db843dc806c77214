"""The one way tests wait: until an observable condition holds, never for a fixed time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

POLL_INTERVAL = 0.05


async def eventually(check: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
    """Return once ``check()`` holds; fail naming ``what`` if it still does not after ``within``
    seconds."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {what}")
        await asyncio.sleep(POLL_INTERVAL)
