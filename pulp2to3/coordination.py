"""What the coordinator does next: a pure function of the report's state.

The coordinator reads the report, its steps and the states of their tasks, calls ``decide``,
and applies the decision in one transaction under the report's row lock.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import NamedTuple


class TaskState(enum.StrEnum):
    WAITING = "waiting"
    RUNNING = "running"
    CANCELING = "canceling"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"


UNFINISHED_TASK_STATES = frozenset({TaskState.WAITING, TaskState.RUNNING, TaskState.CANCELING})


class StepStatus(enum.StrEnum):
    WAITING = "waiting"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"
    SKIPPED = "skipped"


class ReportStatus(enum.StrEnum):
    WAITING = "waiting"
    RUNNING = "running"
    CANCELED = "canceled"
    PAUSING = "pausing"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"


FINISHED_REPORT_STATUSES = frozenset(
    {ReportStatus.CANCELED, ReportStatus.COMPLETED, ReportStatus.FAILED}
)
PAUSED_REPORT_STATUSES = frozenset({ReportStatus.PAUSING, ReportStatus.PAUSED})


@dataclasses.dataclass(frozen=True)
class StepState:
    code: str
    status: StepStatus
    tasks: Mapping[TaskState, int] = dataclasses.field(default_factory=dict)

    @property
    def unfinished_tasks(self) -> int:
        return sum(self.tasks.get(state, 0) for state in UNFINISHED_TASK_STATES)

    @property
    def running_tasks(self) -> int:
        return self.tasks.get(TaskState.RUNNING, 0) + self.tasks.get(TaskState.CANCELING, 0)

    @property
    def failed_tasks(self) -> int:
        return self.tasks.get(TaskState.FAILED, 0) + self.tasks.get(TaskState.CANCELED, 0)


@dataclasses.dataclass(frozen=True)
class ReportState:
    status: ReportStatus
    steps: tuple[StepState, ...]


class StepEnd(NamedTuple):
    """A step to close, and how it ended."""

    code: str
    status: StepStatus


@dataclasses.dataclass(frozen=True)
class Decision:
    """What to change, in this order: close a step, skip later ones, start one, close the report
    (or, for a pausing one, call it paused)."""

    close_step: StepEnd | None = None
    skip_steps: tuple[str, ...] = ()
    start_step: str | None = None
    finish_report: ReportStatus | None = None
    pause_report: bool = False
    requeue: bool = False


WAIT = Decision(requeue=True)
STOP = Decision()
PAUSE = Decision(pause_report=True)


def decide(state: ReportState) -> Decision:
    if state.status is ReportStatus.PAUSING:
        # Queued tasks are held; the running ones finish their batch, then the report is paused.
        return WAIT if any(step.running_tasks for step in state.steps) else PAUSE
    if state.status is not ReportStatus.RUNNING:
        return STOP
    for index, step in enumerate(state.steps):
        if step.status is StepStatus.WAITING:
            return Decision(start_step=step.code, requeue=True)
        if step.status is not StepStatus.RUNNING:
            continue
        if step.unfinished_tasks:
            return WAIT
        later = state.steps[index + 1 :]
        if step.failed_tasks:
            return Decision(
                close_step=StepEnd(step.code, StepStatus.FAILED),
                skip_steps=tuple(s.code for s in later if s.status is StepStatus.WAITING),
                finish_report=ReportStatus.FAILED,
            )
        if later:
            return Decision(
                close_step=StepEnd(step.code, StepStatus.COMPLETED),
                start_step=later[0].code,
                requeue=True,
            )
        return Decision(
            close_step=StepEnd(step.code, StepStatus.COMPLETED),
            finish_report=ReportStatus.COMPLETED,
        )
    failed = any(step.status is StepStatus.FAILED for step in state.steps)
    return Decision(finish_report=ReportStatus.FAILED if failed else ReportStatus.COMPLETED)
