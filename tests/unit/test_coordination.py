"""The coordinator's decision, alone: fixed cases and random runs of a simulated migration."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pulp2to3.coordination import (
    PAUSE,
    STOP,
    WAIT,
    Decision,
    ReportState,
    ReportStatus,
    StepState,
    StepStatus,
    TaskState,
    decide,
)

W, R, C, F = StepStatus.WAITING, StepStatus.RUNNING, StepStatus.COMPLETED, StepStatus.FAILED


def report(*steps: StepState, status: ReportStatus = ReportStatus.RUNNING) -> ReportState:
    return ReportState(status=status, steps=steps)


def test_the_first_waiting_step_starts() -> None:
    assert decide(report(StepState("a", W), StepState("b", W))) == Decision(
        start_step="a", requeue=True
    )


def test_a_step_with_unfinished_tasks_is_waited_for() -> None:
    for unfinished in (TaskState.WAITING, TaskState.RUNNING, TaskState.CANCELING):
        step = StepState("a", R, {TaskState.COMPLETED: 3, unfinished: 1})
        assert decide(report(step, StepState("b", W))) is WAIT


def test_a_finished_step_closes_and_the_next_starts_in_the_same_decision() -> None:
    state = report(
        StepState("a", C), StepState("b", R, {TaskState.COMPLETED: 2}), StepState("c", W)
    )
    assert decide(state) == Decision(close_step=("b", C), start_step="c", requeue=True)


def test_the_last_step_closing_completes_the_report() -> None:
    state = report(StepState("a", C), StepState("b", R, {TaskState.COMPLETED: 1}))
    assert decide(state) == Decision(close_step=("b", C), finish_report=ReportStatus.COMPLETED)


@pytest.mark.parametrize("bad", [TaskState.FAILED, TaskState.CANCELED])
def test_a_task_failed_for_good_fails_the_step_and_the_report(bad: TaskState) -> None:
    state = report(StepState("a", R, {TaskState.COMPLETED: 5, bad: 1}), StepState("b", W))
    assert decide(state) == Decision(
        close_step=("a", F), skip_steps=("b",), finish_report=ReportStatus.FAILED
    )


def test_a_step_without_tasks_closes_at_once() -> None:
    assert decide(report(StepState("a", R))) == Decision(
        close_step=("a", C), finish_report=ReportStatus.COMPLETED
    )


@pytest.mark.parametrize(
    "status", [s for s in ReportStatus if s not in (ReportStatus.RUNNING, ReportStatus.PAUSING)]
)
def test_a_report_that_is_not_running_stops_the_coordinator(status: ReportStatus) -> None:
    assert decide(report(StepState("a", W), status=status)) is STOP


@pytest.mark.parametrize("running", [TaskState.RUNNING, TaskState.CANCELING])
def test_a_pausing_report_waits_for_its_running_tasks(running: TaskState) -> None:
    step = StepState("a", R, {TaskState.COMPLETED: 2, TaskState.WAITING: 3, running: 1})
    assert decide(report(step, StepState("b", W), status=ReportStatus.PAUSING)) is WAIT


def test_a_pausing_report_with_nothing_running_is_paused_and_nothing_starts() -> None:
    # Held tasks wait, and a finished step is not closed nor its successor started.
    held = StepState("a", R, {TaskState.COMPLETED: 2, TaskState.WAITING: 3})
    assert decide(report(held, StepState("b", W), status=ReportStatus.PAUSING)) is PAUSE
    done = StepState("a", R, {TaskState.COMPLETED: 2})
    assert decide(report(done, StepState("b", W), status=ReportStatus.PAUSING)) is PAUSE


# --- A simulated migration: random task progress, the coordinator polled in between ---------


@dataclasses.dataclass
class Simulation:
    task_counts: list[int]  # tasks each step queues when it starts
    outcomes: dict[tuple[int, int], TaskState]  # (step, task) -> how that task ends
    statuses: list[StepStatus]
    tasks: dict[tuple[int, int], TaskState] = dataclasses.field(default_factory=dict)
    report: ReportStatus = ReportStatus.RUNNING
    started_order: list[int] = dataclasses.field(default_factory=list)

    def state(self) -> ReportState:
        steps = []
        for index, status in enumerate(self.statuses):
            counts: dict[TaskState, int] = {}
            for (step, _), task in self.tasks.items():
                if step == index:
                    counts[task] = counts.get(task, 0) + 1
            steps.append(StepState(str(index), status, counts))
        return ReportState(self.report, tuple(steps))

    def apply(self, decision: Decision) -> None:
        if decision.close_step:
            self.statuses[int(decision.close_step.code)] = decision.close_step.status
        for code in decision.skip_steps:
            self.statuses[int(code)] = StepStatus.SKIPPED
        if decision.start_step is not None:
            index = int(decision.start_step)
            # Invariant: every earlier step is closed, and closed well, before one starts.
            assert all(status is C for status in self.statuses[:index])
            assert not any(status is R for status in self.statuses)
            self.statuses[index] = R
            self.started_order.append(index)
            for task in range(self.task_counts[index]):
                self.tasks[(index, task)] = TaskState.WAITING
        if decision.finish_report:
            self.report = decision.finish_report
        if decision.pause_report:
            # Invariant: a migration is called paused only when none of its tasks runs.
            assert TaskState.RUNNING not in self.tasks.values()
            self.report = ReportStatus.PAUSED

    def progress(self, key: tuple[int, int]) -> None:
        current = self.tasks[key]
        if current is TaskState.WAITING and self.report is not ReportStatus.RUNNING:
            return  # held while the migration pauses
        if current is TaskState.WAITING:
            self.tasks[key] = TaskState.RUNNING
        elif current is TaskState.RUNNING:
            self.tasks[key] = self.outcomes[key]


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_random_runs_with_pauses_keep_the_step_order_and_end_right(data: st.DataObject) -> None:
    task_counts = data.draw(st.lists(st.integers(0, 4), min_size=1, max_size=6), label="tasks")
    outcomes = {
        (step, task): data.draw(
            st.sampled_from([TaskState.COMPLETED] * 6 + [TaskState.FAILED, TaskState.CANCELED])
        )
        for step, count in enumerate(task_counts)
        for task in range(count)
    }
    sim = Simulation(task_counts, outcomes, [W] * len(task_counts))
    polls = pauses = 0
    while True:
        if pauses < 3 and sim.report is ReportStatus.RUNNING and data.draw(st.booleans()):
            sim.report = ReportStatus.PAUSING  # the operator pauses between two polls
            pauses += 1
        decision = decide(sim.state())
        sim.apply(decision)
        polls += 1
        assert polls < 200, "the coordinator never finished"
        if sim.report is ReportStatus.PAUSED:
            assert not decision.requeue
            sim.report = ReportStatus.RUNNING  # the operator resumes; the poll is queued again
            continue
        if not decision.requeue:
            break
        unfinished = [
            k for k, v in sim.tasks.items() if v in (TaskState.WAITING, TaskState.RUNNING)
        ]
        if sim.report is ReportStatus.PAUSING:
            unfinished = [k for k in unfinished if sim.tasks[k] is TaskState.RUNNING]
        if unfinished:
            # At least one task moves between two polls, so every run ends.
            for key in data.draw(st.lists(st.sampled_from(unfinished), min_size=1, max_size=3)):
                sim.progress(key)

    assert sim.started_order == sorted(sim.started_order)
    assert sim.report in (ReportStatus.COMPLETED, ReportStatus.FAILED)
    assert all(status not in (W, R) for status in sim.statuses)
    ran = [index for index, status in enumerate(sim.statuses) if status in (C, F)]
    bad = any(
        sim.tasks[key] in (TaskState.FAILED, TaskState.CANCELED)
        for key in sim.tasks
        if key[0] in ran
    )
    if bad:
        assert sim.report is ReportStatus.FAILED
        first_failed = sim.statuses.index(F)
        assert all(s is StepStatus.SKIPPED for s in sim.statuses[first_failed + 1 :])
    else:
        assert sim.report is ReportStatus.COMPLETED
        assert all(status is C for status in sim.statuses)
