"""The terminal's step bars follow the report: counts, totals, and a pause shown where it bites."""

from __future__ import annotations

import dataclasses
import datetime
import io
import uuid

from rich.console import Console

from pulp2to3.bars import WAITING_FOR_A_WORKER, StepBars, elapsed_text, outcome_lines
from pulp2to3.store.migrations import ReportView, StepView

NOW = datetime.datetime(2026, 11, 28, tzinfo=datetime.UTC)


def step(code: str, status: str, total: int = 0, done: int = 0, failed: int = 0) -> StepView:
    return StepView(
        code=code,
        description=code,
        status=status,
        needs=[],
        total=total,
        done=done,
        failed=failed,
        started_at=None if status == "waiting" else NOW,
        finished_at=NOW if status in ("completed", "failed") else None,
        job_ids=[],
        task_counts={},
        failures=[],
    )


def report(status: str, *steps: StepView, error: str | None = None) -> ReportView:
    return ReportView(
        id=uuid.UUID(int=1),
        created_at=NOW,
        plan_id=uuid.UUID(int=2),
        task_job_id=None,
        status=status,
        started_at=NOW,
        finished_at=None,
        error=error,
        steps=list(steps),
    )


def bar_states(bars: StepBars) -> list[tuple[str, float | None, float, str]]:
    return [
        (task.description, task.total, task.completed, task.fields["status"])
        for task in bars.display.tasks
    ]


def test_bars_move_with_the_report_and_a_pause_shows_on_the_running_step() -> None:
    bars = StepBars()
    steps = [step("premigrate", "completed", 3, 3), step("content", "running", 10, 4, 1)]
    later = step("repositories", "waiting")
    bars.show(report("running", *steps, later))
    assert bar_states(bars) == [
        ("premigrate", 3, 3, "completed"),
        ("content", 10, 5, "running"),
        ("repositories", None, 0, "waiting"),
        ("overall", 13, 8, "running"),
    ]
    for paused in ("pausing", "paused"):
        bars.show(report(paused, *steps, later))
        assert [state[3] for state in bar_states(bars)] == [
            "completed",
            paused,
            "waiting",
            paused,
        ]
    content = dataclasses.replace(steps[1], done=9)
    bars.show(report("running", steps[0], content, later))
    assert bar_states(bars)[1] == ("content", 10, 10, "running")


def test_rates_and_etas_show_once_known() -> None:
    bars = StepBars()
    content = dataclasses.replace(step("content", "running", 100, 40), rate=2.5, eta=24.0)
    waiting = step("repositories", "waiting")
    bars.show(dataclasses.replace(report("running", content, waiting), rate=1234.4, eta=3725.0))
    assert [task.fields["rate"] for task in bars.display.tasks] == [
        "2.5/s eta 0:00:24",
        "",
        "1,234/s eta 1:02:05",
    ]
    stalled = dataclasses.replace(content, rate=0.0, eta=None)
    bars.show(report("running", stalled, waiting))
    assert [task.fields["rate"] for task in bars.display.tasks] == ["0.0/s", "", ""]


def test_the_outcome_names_the_error_and_each_step() -> None:
    lines = outcome_lines(
        report("failed", step("premigrate", "failed", 2, 1, 1), error="the dump is corrupt")
    )
    assert lines == [
        f"Migration {uuid.UUID(int=1)}: failed",
        "  error: the dump is corrupt",
        "  premigrate: failed (1/2, 1 failed)",
    ]


def rendered(bars: StepBars) -> str:
    console = Console(width=160, record=True, file=io.StringIO())
    console.print(bars.display.get_renderable())
    return console.export_text()


def test_a_step_timer_counts_from_the_reports_start_even_with_a_total_still_0() -> None:
    bars = StepBars()
    two_hours_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=2)
    started = dataclasses.replace(step("content", "running"), started_at=two_hours_ago)
    finished = dataclasses.replace(
        step("premigrate", "completed", 3, 3), finished_at=NOW + datetime.timedelta(seconds=75)
    )
    bars.show(report("running", finished, started))
    lines = rendered(bars).splitlines()
    assert "0:01:15" in lines[0]
    # Not 0:00:00: rich's own timer stopped at once, as completed 0 reached the total 0 that a
    # step has before it counts its units.
    assert "2:00:0" in lines[1]
    assert elapsed_text(None, None, NOW) == "-"
    assert elapsed_text(NOW, None, NOW + datetime.timedelta(hours=2, seconds=3)) == "2:00:03"
    assert elapsed_text(NOW, NOW + datetime.timedelta(milliseconds=420), NOW) == "0.4s"
    assert elapsed_text(NOW, None, NOW - datetime.timedelta(seconds=5)) == "0.0s"


def test_waiting_for_a_worker_shows_while_none_is_online_and_the_migration_needs_one() -> None:
    bars = StepBars()
    waiting = report("waiting", step("premigrate", "waiting"))
    bars.show(waiting, workers_online=False)
    assert rendered(bars).splitlines()[0] == WAITING_FOR_A_WORKER
    bars.show(waiting, workers_online=True)
    assert WAITING_FOR_A_WORKER not in rendered(bars)
    bars.show(report("paused", step("premigrate", "running")), workers_online=False)
    assert WAITING_FOR_A_WORKER not in rendered(bars)
    bars.notice("the database is out of reach: still trying")
    assert rendered(bars).splitlines()[0] == "the database is out of reach: still trying"
    bars.show(waiting)
    assert "out of reach" not in rendered(bars)
