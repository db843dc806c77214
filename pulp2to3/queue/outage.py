"""Waiting out a database outage: retry with backoff, and say so once when it starts and once
when it ends (not once per retry)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog

from pulp2to3.database import is_unavailable

log = structlog.get_logger(__name__)

T = TypeVar("T")

FIRST_DELAY = 0.1
# At most one heartbeat interval, so a returning worker beats long before it counts as stalled.
MAX_DELAY = 2.0


class Outage:
    """What one process knows of the database's reachability, shared by all its coroutines."""

    def __init__(self) -> None:
        self._since: float | None = None

    def lost(self, exc: BaseException) -> None:
        if self._since is None:
            self._since = time.monotonic()
            log.warning("database_unreachable", error=f"{type(exc).__name__}: {exc}")

    def regained(self) -> None:
        if self._since is not None:
            log.warning("database_reconnected", down_s=round(time.monotonic() - self._since, 1))
            self._since = None

    async def wait_out(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run ``operation`` until it does not fail for want of the database; other errors
        propagate."""
        delay = FIRST_DELAY
        while True:
            try:
                result = await operation()
            except Exception as exc:
                if not is_unavailable(exc):
                    raise
                self.lost(exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_DELAY)
            else:
                self.regained()
                return result
