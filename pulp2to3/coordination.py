"""What the coordinator does next: a pure function of the migration's state.

The coordinator reads the migration, its steps and the states of their tasks, calls ``decide``,
and applies the decision in one transaction under the migration's row lock.
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


class MigrationStatus(enum.StrEnum):
    WAITING = "waiting"
    RUNNING = "running"
    CANCELED = "canceled"
    PAUSING = "pausing"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"


FINISHED_MIGRATION_STATUSES = frozenset(
    {MigrationStatus.CANCELED, MigrationStatus.COMPLETED, MigrationStatus.FAILED}
)
PAUSED_MIGRATION_STATUSES = frozenset({MigrationStatus.PAUSING, MigrationStatus.PAUSED})


@dataclasses.dataclass(frozen=True)
class StepState:
    code: str
    status: StepStatus
    tasks: Mapping[TaskState, int] = dataclasses.field(default_factory=dict)
    needs: frozenset[str] = frozenset()  # codes of the steps that must complete before it starts

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
class MigrationState:
    """The steps in their order, which is a topological one: each needs only steps before it."""

    status: MigrationStatus
    steps: tuple[StepState, ...]

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for step in self.steps:
            if not step.needs <= seen:
                unknown = ", ".join(sorted(step.needs - seen))
                raise ValueError(f"step {step.code} needs steps not before it: {unknown}")
            seen.add(step.code)


class StepEnd(NamedTuple):
    """A step to close, and how it ended."""

    code: str
    status: StepStatus


@dataclasses.dataclass(frozen=True)
class Decision:
    """What to change, in this order: close steps, skip steps, start steps, close the report
    (or, for a pausing one, call it paused)."""

    close_steps: tuple[StepEnd, ...] = ()
    skip_steps: tuple[str, ...] = ()
    start_steps: tuple[str, ...] = ()
    finish_migration: MigrationStatus | None = None
    failed_step: str | None = None  # the step a failed report's error names: the first failed
    pause_migration: bool = False
    requeue: bool = False


WAIT = Decision(requeue=True)
STOP = Decision()
PAUSE = Decision(pause_migration=True)


# A step whose needs are in these may start: a skipped one had nothing to do (once a step
# failed, nothing starts).
DONE = frozenset({StepStatus.COMPLETED, StepStatus.SKIPPED})


def _ending(step: StepState) -> StepStatus:
    """How a running step whose tasks all finished ended: skipped when it had none (nothing to
    do, such as a content step when every unit was migrated before)."""
    if step.failed_tasks:
        return StepStatus.FAILED
    return StepStatus.COMPLETED if any(step.tasks.values()) else StepStatus.SKIPPED


def decide(state: MigrationState) -> Decision:
    """Close every running step whose tasks all finished; then start every waiting step whose
    needs all completed, or, once a step failed, skip every waiting step (a failing migration
    starts no new work) and fail the report when no step runs any more."""
    if state.status is MigrationStatus.PAUSING:
        # Queued tasks are held; the running ones finish their batch, then the migration is paused.
        return WAIT if any(step.running_tasks for step in state.steps) else PAUSE
    if state.status is not MigrationStatus.RUNNING:
        return STOP
    statuses = {step.code: step.status for step in state.steps}
    closed = []
    for step in state.steps:
        if step.status is StepStatus.RUNNING and not step.unfinished_tasks:
            statuses[step.code] = _ending(step)
            closed.append(StepEnd(step.code, statuses[step.code]))
    waiting = [step for step in state.steps if statuses[step.code] is StepStatus.WAITING]
    failed = [code for code, status in statuses.items() if status is StepStatus.FAILED]
    if failed:
        skipped = tuple(step.code for step in waiting)
        start: tuple[str, ...] = ()
    else:
        skipped = ()
        start = tuple(
            step.code for step in waiting if all(statuses[need] in DONE for need in step.needs)
        )
    if start or StepStatus.RUNNING in statuses.values():
        return Decision(tuple(closed), skipped, start, requeue=True)
    # Nothing runs and nothing starts: every step is closed (the order is topological, so
    # without a failure the first waiting step would have been ready).
    return Decision(
        tuple(closed),
        skipped,
        finish_migration=MigrationStatus.FAILED if failed else MigrationStatus.COMPLETED,
        failed_step=failed[0] if failed else None,
    )
