"""structlog, configured once per process.

JSON lines when stderr is not a terminal, a readable console otherwise. The stdlib loggers of
procrastinate, asyncpg and aiohttp go through the same processors (``ProcessorFormatter``), so
every line of a process has one shape. Context (``migration_id``, ``task_id``) is bound with
``structlog.contextvars`` and appears on every line logged while it is bound.

A warning or error that repeats is written at a bounded rate (``RepeatLimit``): a fault that
recurs thousands of times a second (asyncio failing every accept when file handles run out)
must not fill the disk with the same line.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import time
from collections.abc import Callable
from typing import Any

import structlog

_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


@dataclasses.dataclass
class _Window:
    start: float
    written: int = 0
    suppressed: int = 0


class RepeatLimit(logging.Filter):
    """At most ``burst`` warnings or errors of one event (logger and message) per ``period``
    seconds; the first one written after some were dropped says how many
    (``repeats_suppressed``). Lower levels all pass."""

    MAX_EVENTS = 4096  # events remembered; beyond, the oldest windows are forgotten

    def __init__(
        self, burst: int = 10, period: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self._burst, self._period, self._clock = burst, period, clock
        self._windows: dict[tuple[str, str], _Window] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        event = record.msg.get("event") if isinstance(record.msg, dict) else record.msg
        key = (record.name, str(event))
        now = self._clock()
        window = self._windows.get(key)
        if window is None or now - window.start >= self._period:
            suppressed = window.suppressed if window else 0
            window = self._windows[key] = _Window(now)
            if suppressed:
                self._tell_suppressed(record, suppressed)
            self._forget_old(now)
        if window.written >= self._burst:
            window.suppressed += 1
            return False
        window.written += 1
        return True

    @staticmethod
    def _tell_suppressed(record: logging.LogRecord, count: int) -> None:
        if isinstance(record.msg, dict):  # a structlog event
            record.msg["repeats_suppressed"] = count
        else:
            record.repeats_suppressed = count

    def _forget_old(self, now: float) -> None:
        if len(self._windows) > self.MAX_EVENTS:
            self._windows = {
                key: window
                for key, window in self._windows.items()
                if now - window.start < self._period
            }


def configure_logging(level: str = "INFO", *, json_lines: bool | None = None) -> None:
    if json_lines is None:
        json_lines = not sys.stderr.isatty()
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_lines
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            *_SHARED,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_SHARED, structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    handler.addFilter(RepeatLimit())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Procrastinate logs every job start and end at INFO: keep those, not its start-up chatter.
    for noisy in ("asyncio", "pgserver", "procrastinate.blueprints"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
