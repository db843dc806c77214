"""Live progress of a migration in the terminal: one bar per step, with counts and rate."""

from __future__ import annotations

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

from pulp2to3.coordination import PAUSED_REPORT_STATUSES
from pulp2to3.store.reports import ReportView, StepView


def step_label(report: ReportView, step: StepView) -> str:
    """A step's status; while the report pauses, its running step shows the report's state."""
    if step.status == "running" and report.status in PAUSED_REPORT_STATUSES:
        return report.status
    return step.status


class RateColumn(TextColumn):
    """Units per second of a step while it runs."""

    def __init__(self) -> None:
        super().__init__("")

    def render(self, task):  # type: ignore[no-untyped-def]  # rich's own untyped signature
        speed = task.finished_speed or task.speed
        self.text_format = "" if not speed else f"{speed:,.0f}/s"
        return super().render(task)


class StepBars:
    """Keeps one rich task per migration step and moves it as the report changes."""

    def __init__(self, console: Console | None = None) -> None:
        self.progress = Progress(
            TextColumn("{task.description:<22}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            RateColumn(),
            TextColumn("{task.fields[status]:<9}"),
            TimeElapsedColumn(),
            console=console,
        )
        self._bars: dict[str, TaskID] = {}

    def __enter__(self) -> StepBars:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def show(self, report: ReportView) -> None:
        for step in report.steps:
            bar = self._bars.get(step.code)
            if bar is None:
                bar = self.progress.add_task(step.code, total=None, status="", start=False)
                self._bars[step.code] = bar
            if step.status != "waiting":
                self.progress.start_task(bar)
            total = step.total if step.status != "waiting" else None
            self.progress.update(
                bar,
                total=total,
                completed=step.done + step.failed,
                status=step_label(report, step),
            )
            if step.finished_at is not None:
                self.progress.stop_task(bar)


def outcome_lines(report: ReportView) -> list[str]:
    """What to print when the migration ends."""
    lines = [f"Migration {report.id}: {report.status}"]
    if report.error:
        lines.append(f"  error: {report.error}")
    for step in report.steps:
        failed = f", {step.failed} failed" if step.failed else ""
        lines.append(f"  {step.code}: {step.status} ({step.done}/{step.total}{failed})")
    return lines
