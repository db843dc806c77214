"""Live progress of a migration in the terminal: one bar per step, with counts and rate."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

import structlog
from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TaskProgressColumn,
    TextColumn,
)
from rich.text import Text

from pulp2to3.coordination import PAUSED_MIGRATION_STATUSES, MigrationStatus
from pulp2to3.store.migrations import ReportView, StepView

log = structlog.get_logger(__name__)

OVERALL = "overall"
WAITING_FOR_A_WORKER = "waiting for a worker: none is online (start one with `pulp2to3 worker`)"
# A migration in these states moves only while a worker runs its jobs.
NEEDING_WORKERS = frozenset(
    {MigrationStatus.WAITING, MigrationStatus.RUNNING, MigrationStatus.PAUSING}
)


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


def elapsed_text(
    started_at: datetime.datetime | None,
    finished_at: datetime.datetime | None,
    now: datetime.datetime,
) -> str:
    """How long a step (or the migration) has run, by the report's own times; tenths of a
    second under a minute, as most steps of a small migration take less than one."""
    if started_at is None:
        return "-"
    seconds = max(0.0, ((finished_at or now) - started_at).total_seconds())
    if seconds < 60:
        return f"{seconds:.1f}s"
    return str(datetime.timedelta(seconds=int(seconds)))


class ReportTimeColumn(ProgressColumn):
    """The time since the step started, from the report rather than from when this terminal
    first saw it (rich's own column stops at the moment ``completed`` reaches ``total``, which
    is at once for a step whose total is still 0)."""

    def render(self, task: Task) -> Text:
        now = datetime.datetime.now(datetime.UTC)
        text = elapsed_text(task.fields.get("started_at"), task.fields.get("finished_at"), now)
        return Text(text, style="progress.elapsed")


class _Display(Progress):
    """The bars, under a line saying why they may not move (no worker, database out of reach)."""

    notice = ""

    def get_renderables(self) -> Iterable[RenderableType]:
        if self.notice:
            yield Text(self.notice, style="yellow")
        yield from super().get_renderables()


class StepBars:
    """Keeps one rich task per migration step and moves it as the report changes."""

    def __init__(self, console: Console | None = None) -> None:
        self.display = _Display(
            TextColumn("{task.description:<22}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rate]:>20}"),
            TextColumn("{task.fields[status]:<9}"),
            ReportTimeColumn(),
            console=console,
        )
        self._bars: dict[str, TaskID] = {}
        self._overall: TaskID | None = None

    def __enter__(self) -> StepBars:
        self.display.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.display.stop()

    def notice(self, text: str) -> None:
        """Show ``text`` above the bars until the next report. Where no bars are drawn (the
        output is not a terminal), a new notice is logged instead."""
        if text and text != self.display.notice and not self.display.console.is_terminal:
            log.warning("watch_notice", notice=text)
        self.display.notice = text
        self.display.refresh()

    def show(self, report: ReportView, workers_online: bool = True) -> None:
        waiting = report.status in NEEDING_WORKERS and not workers_online
        self.notice(WAITING_FOR_A_WORKER if waiting else "")
        for step in report.steps:
            bar = self._bars.get(step.code)
            if bar is None:
                bar = self.display.add_task(
                    step.code, total=None, status="", rate="", start=False, started_at=None
                )
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
                started_at=step.started_at,
                finished_at=step.finished_at,
            )
        self._show_overall(report)

    def _show_overall(self, report: ReportView) -> None:
        """A last line with the migration's own figures, once more than one step is known."""
        if len(report.steps) < 2:
            return
        if self._overall is None:
            self._overall = self.display.add_task(
                OVERALL, total=None, status="", rate="", started_at=None
            )
        self.display.update(
            self._overall,
            total=sum(step.total for step in report.steps),
            completed=sum(step.done + step.failed for step in report.steps),
            status=report.status,
            rate=rate_text(report.rate, report.eta),
            started_at=report.started_at,
            finished_at=report.finished_at,
        )


def outcome_lines(report: ReportView) -> list[str]:
    """What to print when the migration ends."""
    lines = [f"Migration {report.id}: {report.status}"]
    if report.error:
        lines.append(f"  error: {report.error}")
    for step in report.steps:
        failed = f", {step.failed} failed" if step.failed else ""
        lines.append(f"  {step.code}: {step.status} ({step.done}/{step.total}{failed})")
    return lines
