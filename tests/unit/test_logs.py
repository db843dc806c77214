"""``configure_logging``: structlog and stdlib lines come out as the same JSON lines."""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from pulp2to3.logs import RepeatLimit, configure_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put back whatever logging and structlog set-up was there before the test."""
    structlog_config = structlog.get_config()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in ("asyncio", "pgserver")}
    try:
        yield
    finally:
        structlog.configure(**structlog_config)
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, saved in levels.items():
            logging.getLogger(name).setLevel(saved)


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def assert_common_fields(line: dict[str, Any], level: str) -> None:
    assert line["level"] == level
    moment = datetime.datetime.fromisoformat(line["timestamp"])
    assert moment.utcoffset() == datetime.timedelta(0)


@pytest.mark.usefixtures("restore_logging")
def test_structlog_and_stdlib_lines_are_json_with_bound_context(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(json_lines=True)
    with structlog.contextvars.bound_contextvars(migration_id="m-1"):
        structlog.get_logger("pulp2to3.test").info("step_started", step="premigrate")
        logging.getLogger("procrastinate.worker").info("Job %s started", 42)
    structlog.get_logger("pulp2to3.test").info("after_unbinding")

    captured = capsys.readouterr()
    assert captured.out == ""
    ours, theirs, after = json_lines(captured.err)

    assert ours["event"] == "step_started"
    assert ours["step"] == "premigrate"
    assert ours["migration_id"] == "m-1"
    assert ours["logger"] == "pulp2to3.test"
    assert_common_fields(ours, "info")

    assert theirs["event"] == "Job 42 started"
    assert theirs["migration_id"] == "m-1"
    assert theirs["logger"] == "procrastinate.worker"
    assert_common_fields(theirs, "info")

    assert after["event"] == "after_unbinding"
    assert "migration_id" not in after


@pytest.mark.usefixtures("restore_logging")
def test_exceptions_are_rendered_into_the_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json_lines=True)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        structlog.get_logger("pulp2to3.test").exception("something_failed")
        logging.getLogger("aiohttp.server").exception("Error handling request")
    ours, theirs = json_lines(capsys.readouterr().err)
    for line in (ours, theirs):
        assert_common_fields(line, "error")
        assert "RuntimeError: boom" in line["exception"]


@pytest.mark.usefixtures("restore_logging")
def test_the_level_filters_both_kinds(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("warning", json_lines=True)
    structlog.get_logger("pulp2to3.test").info("hidden")
    logging.getLogger("asyncpg").info("hidden too")
    structlog.get_logger("pulp2to3.test").warning("shown")
    assert [line["event"] for line in json_lines(capsys.readouterr().err)] == ["shown"]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def record(message: object, level: int = logging.ERROR, name: str = "asyncio") -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, message, None, None)


def test_a_repeating_error_is_written_at_a_bounded_rate() -> None:
    clock = Clock()
    limit = RepeatLimit(burst=3, period=60, clock=clock)
    passed = [limit.filter(record("socket.accept() out of system resource")) for _ in range(1000)]
    assert passed == [True] * 3 + [False] * 997
    assert limit.filter(record("another error"))
    assert limit.filter(record("socket.accept() out of system resource", name="other"))

    clock.now = 60
    again = record("socket.accept() out of system resource")
    assert limit.filter(again)
    assert again.repeats_suppressed == 997  # type: ignore[attr-defined]


def test_structlog_events_are_limited_by_event_name() -> None:
    clock = Clock()
    limit = RepeatLimit(burst=1, period=10, clock=clock)
    assert limit.filter(record({"event": "api_connection_refused", "open": 1}, logging.WARNING))
    assert not limit.filter(record({"event": "api_connection_refused", "open": 2}, logging.WARNING))
    clock.now = 10
    later = {"event": "api_connection_refused", "open": 3}
    assert limit.filter(record(later, logging.WARNING))
    assert later["repeats_suppressed"] == 1


def test_information_is_never_limited() -> None:
    limit = RepeatLimit(burst=1, period=60, clock=Clock())
    assert all(limit.filter(record("job done", logging.INFO)) for _ in range(100))


@pytest.mark.usefixtures("restore_logging")
def test_configured_logging_drops_repeats(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json_lines=True)
    for _ in range(1000):
        logging.getLogger("asyncio").error("socket.accept() out of system resource")
    assert len(json_lines(capsys.readouterr().err)) == 10
