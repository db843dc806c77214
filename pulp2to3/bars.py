"""Live progress of a migration in the terminal: one bar per step, with counts and rate."""

from __future__ import annotations

import datetime

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from pulp2to3.coordination import PAUSED_MIGRATION_STATUSES
from pulp2to3.store.migrations import ReportView, StepView

OVERALL = "overall"


def step_label(report: ReportView, step: StepView) -> str:
    """A step's status; while the report pauses, its running step shows the report's state."""
    if step.status == "running" and report.status in PAUSED_MIGRATION_STATUSES:
        return report.status
    return step.status


def rate_text(rate: float | None, eta: float | None) -> str:
    """A step's (or the migration's) units per second and time left, blank until known."""
    if rate is None:
        return ""
    text = f"{rate:,.1f}/s" if rate < 10 else f"{rate:,.0f}/s"
    if eta is not None:
        text += f" eta {datetime.timedelta(seconds=round(eta))}"
    return text


class StepBars:
    """Keeps one rich task per migration step and moves it as the report changes."""

    def __init__(self, console: Console | None = None) -> None:
        self.display = Progress(
            TextColumn("{task.description:<22}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rate]:>20}"),
            TextColumn("{task.fields[status]:<9}"),
            TimeElapsedColumn(),
            console=console,
        )
        self._bars: dict[str, TaskID] = {}
        self._overall: TaskID | None = None

    def __enter__(self) -> StepBars:
        self.display.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.display.stop()

    def show(self, report: ReportView) -> None:
        for step in report.steps:
            bar = self._bars.get(step.code)
            if bar is None:
                bar = self.display.add_task(step.code, total=None, status="", rate="", start=False)
                self._bars[step.code] = bar
            if step.status != "waiting":
                self.display.start_task(bar)
            total = step.total if step.status != "waiting" else None
            self.display.update(
                bar,
                total=total,
                completed=step.done + step.failed,
                status=step_label(report, step),
                rate=rate_text(step.rate, step.eta),
            )
            if step.finished_at is not None:
                self.display.stop_task(bar)
        self._show_overall(report)

    def _show_overall(self, report: ReportView) -> None:
        """A last line with the migration's own figures, once more than one step is known."""
        if len(report.steps) < 2:
            return
        if self._overall is None:
            self._overall = self.display.add_task(OVERALL, total=None, status="", rate="")
        self.display.update(
            self._overall,
            total=sum(step.total for step in report.steps),
            completed=sum(step.done + step.failed for step in report.steps),
            status=report.status,
            rate=rate_text(report.rate, report.eta),
        )
        if report.finished_at is not None:
            self.display.stop_task(self._overall)


def outcome_lines(report: ReportView) -> list[str]:
    """What to print when the migration ends."""
    lines = [f"Migration {report.id}: {report.status}"]
    if report.error:
        lines.append(f"  error: {report.error}")
    for step in report.steps:
        failed = f", {step.failed} failed" if step.failed else ""
        lines.append(f"  {step.code}: {step.status} ({step.done}/{step.total}{failed})")
    return lines
