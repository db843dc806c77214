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
    MigrationState,
    MigrationStatus,
    StepEnd,
    StepState,
    StepStatus,
    TaskState,
    decide,
)

W, R, C, F = StepStatus.WAITING, StepStatus.RUNNING, StepStatus.COMPLETED, StepStatus.FAILED
S = StepStatus.SKIPPED


def report(*steps: StepState, status: MigrationStatus = MigrationStatus.RUNNING) -> MigrationState:
    return MigrationState(status=status, steps=steps)


def line(*steps: StepState, status: MigrationStatus = MigrationStatus.RUNNING) -> MigrationState:
    """Steps that run one after the other: each needs the one before it."""
    chained = [
        dataclasses.replace(step, needs=frozenset({steps[index - 1].code}) if index else step.needs)
        for index, step in enumerate(steps)
    ]
    return report(*chained, status=status)


def step(
    code: str, status: StepStatus, needs: str = "", **tasks: int
) -> StepState:  # tasks by state name: step("b", R, "a", completed=2)
    return StepState(
        code, status, {TaskState(state): count for state, count in tasks.items()}, frozenset(needs)
    )


# --- One after the other (ISO's graph is a line) ---------------------------------------------


def test_the_first_waiting_step_starts() -> None:
    assert decide(line(step("a", W), step("b", W))) == Decision(start_steps=("a",), requeue=True)


def test_a_step_with_unfinished_tasks_is_waited_for() -> None:
    for unfinished in (TaskState.WAITING, TaskState.RUNNING, TaskState.CANCELING):
        running = StepState("a", R, {TaskState.COMPLETED: 3, unfinished: 1})
        assert decide(line(running, step("b", W))) == WAIT


def test_a_finished_step_closes_and_the_next_starts_in_the_same_decision() -> None:
    state = line(step("a", C), step("b", R, completed=2), step("c", W))
    assert decide(state) == Decision(
        close_steps=(StepEnd("b", C),), start_steps=("c",), requeue=True
    )


def test_the_last_step_closing_completes_the_report() -> None:
    state = line(step("a", C), step("b", R, completed=1))
    assert decide(state) == Decision(
        close_steps=(StepEnd("b", C),), finish_migration=MigrationStatus.COMPLETED
    )


@pytest.mark.parametrize("bad", [TaskState.FAILED, TaskState.CANCELED])
def test_a_task_failed_for_good_fails_the_step_and_the_report(bad: TaskState) -> None:
    state = line(StepState("a", R, {TaskState.COMPLETED: 5, bad: 1}), step("b", W))
    assert decide(state) == Decision(
        close_steps=(StepEnd("a", F),),
        skip_steps=("b",),
        finish_migration=MigrationStatus.FAILED,
        failed_step="a",
    )


def test_a_step_without_tasks_closes_at_once_as_skipped() -> None:
    assert decide(line(step("a", R))) == Decision(
        close_steps=(StepEnd("a", S),), finish_migration=MigrationStatus.COMPLETED
    )


def test_what_needs_a_step_that_had_nothing_to_do_starts() -> None:
    assert decide(line(step("a", R), step("b", W))) == Decision(
        close_steps=(StepEnd("a", S),), start_steps=("b",), requeue=True
    )


# --- Graphs -----------------------------------------------------------------------------------


def test_every_ready_step_starts_in_one_decision() -> None:
    # b and c need only a; d needs both; e needs nothing at all.
    state = report(
        step("a", C), step("b", W, "a"), step("c", W, "a"), step("d", W, "bc"), step("e", W)
    )
    assert decide(state) == Decision(start_steps=("b", "c", "e"), requeue=True)


def test_a_step_waits_until_every_step_it_needs_completed() -> None:
    state = report(
        step("a", R, completed=1),
        step("b", R, running=1),
        step("c", W, "ab"),
    )
    assert decide(state) == Decision(close_steps=(StepEnd("a", C),), requeue=True)


def test_steps_finished_together_close_together_and_start_what_needs_them() -> None:
    state = report(
        step("a", C),
        step("b", R, "a", completed=2),
        step("c", R, "a", completed=1),
        step("d", W, "bc"),
        step("e", W, "d"),
    )
    assert decide(state) == Decision(
        close_steps=(StepEnd("b", C), StepEnd("c", C)), start_steps=("d",), requeue=True
    )


def test_a_failed_step_skips_every_waiting_step_and_lets_the_running_ones_finish() -> None:
    # d needs the failed b; e needs only a, and is skipped too: a failing migration starts
    # nothing new.
    state = report(
        step("a", C),
        step("b", R, "a", completed=1, failed=1),
        step("c", R, "a", running=1),
        step("d", W, "b"),
        step("e", W, "a"),
    )
    assert decide(state) == Decision(
        close_steps=(StepEnd("b", F),), skip_steps=("d", "e"), requeue=True
    )
    finishing = report(
        step("a", C),
        step("b", F, "a"),
        step("c", R, "a", completed=1),
        step("d", S, "b"),
        step("e", S, "a"),
    )
    assert decide(finishing) == Decision(
        close_steps=(StepEnd("c", C),), finish_migration=MigrationStatus.FAILED, failed_step="b"
    )


def test_the_report_names_the_first_failed_step() -> None:
    state = report(
        step("a", C),
        step("b", R, "a", failed=1),
        step("c", R, "a", canceled=1),
    )
    assert decide(state) == Decision(
        close_steps=(StepEnd("b", F), StepEnd("c", F)),
        finish_migration=MigrationStatus.FAILED,
        failed_step="b",
    )


def test_steps_must_come_after_the_steps_they_need() -> None:
    with pytest.raises(ValueError, match="step a needs steps not before it: b"):
        report(step("a", W, "b"), step("b", W))
    with pytest.raises(ValueError, match="step a needs steps not before it: z"):
        report(step("a", W, "z"))


# --- Not running ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status",
    [s for s in MigrationStatus if s not in (MigrationStatus.RUNNING, MigrationStatus.PAUSING)],
)
def test_a_report_that_is_not_running_stops_the_coordinator(status: MigrationStatus) -> None:
    assert decide(report(step("a", W), status=status)) is STOP


@pytest.mark.parametrize("running", [TaskState.RUNNING, TaskState.CANCELING])
def test_a_pausing_report_waits_for_its_running_tasks(running: TaskState) -> None:
    busy = StepState("a", R, {TaskState.COMPLETED: 2, TaskState.WAITING: 3, running: 1})
    assert decide(line(busy, step("b", W), status=MigrationStatus.PAUSING)) is WAIT


def test_a_pausing_report_with_nothing_running_is_paused_and_nothing_starts() -> None:
    # Held tasks wait, and a finished step is not closed nor its successors started.
    held = step("a", R, completed=2, waiting=3)
    assert decide(report(held, step("b", W, "a"), status=MigrationStatus.PAUSING)) is PAUSE
    done = step("a", R, completed=2)
    state = report(done, step("b", W, "a"), step("c", W), status=MigrationStatus.PAUSING)
    assert decide(state) is PAUSE


# --- A simulated migration: random graphs and task progress, the coordinator polled between ---


OUTCOMES = [TaskState.COMPLETED] * 6 + [TaskState.FAILED, TaskState.CANCELED]


@dataclasses.dataclass
class Simulation:
    needs: list[frozenset[int]]  # the steps each step needs, all before it
    task_counts: list[int]  # tasks each step queues when it starts
    outcomes: dict[tuple[int, int], TaskState]  # (step, task) -> how that task ends
    statuses: list[StepStatus]
    tasks: dict[tuple[int, int], TaskState] = dataclasses.field(default_factory=dict)
    status: MigrationStatus = MigrationStatus.RUNNING
    failed_at: int | None = None  # the poll that closed the first failed step
    started_at: dict[int, int] = dataclasses.field(default_factory=dict)  # step -> poll
    polls: int = 0

    def state(self) -> MigrationState:
        steps = []
        for index, status in enumerate(self.statuses):
            counts: dict[TaskState, int] = {}
            for (owner, _), task in self.tasks.items():
                if owner == index:
                    counts[task] = counts.get(task, 0) + 1
            needs = frozenset(str(need) for need in self.needs[index])
            steps.append(StepState(str(index), status, counts, needs))
        return MigrationState(self.status, tuple(steps))

    def apply(self, decision: Decision) -> bool:
        """Apply as the coordinator does; True when a started step has no task."""
        for code, status in decision.close_steps:
            assert self.statuses[int(code)] is R
            self.statuses[int(code)] = status
            if status is F and self.failed_at is None:
                self.failed_at = self.polls
        for code in decision.skip_steps:
            assert self.statuses[int(code)] is W
            self.statuses[int(code)] = S
        empty = False
        for code in decision.start_steps:
            index = int(code)
            # Invariant: a step starts only once every step it needs has completed (or had
            # nothing to do).
            assert all(self.statuses[need] in (C, S) for need in self.needs[index])
            assert self.statuses[index] is W
            self.statuses[index] = R
            self.started_at[index] = self.polls
            for task in range(self.task_counts[index]):
                self.tasks[(index, task)] = TaskState.WAITING
            empty = empty or not self.task_counts[index]
        if decision.finish_migration:
            # Invariant: a migration ends only when none of its tasks is unfinished.
            assert all(t not in (TaskState.WAITING, TaskState.RUNNING) for t in self.tasks.values())
            self.status = decision.finish_migration
        if decision.pause_migration:
            # Invariant: a migration is called paused only when none of its tasks runs.
            assert TaskState.RUNNING not in self.tasks.values()
            self.status = MigrationStatus.PAUSED
        return empty

    def poll(self) -> Decision:
        """One poll: decide again while a step just started has nothing to do."""
        self.polls += 1
        while True:
            decision = decide(self.state())
            if not self.apply(decision):
                return decision

    def ready(self) -> list[int]:
        return [
            index
            for index, status in enumerate(self.statuses)
            if status is W and all(self.statuses[need] is C for need in self.needs[index])
        ]

    def advance(self, key: tuple[int, int]) -> None:
        current = self.tasks[key]
        if current is TaskState.WAITING and self.status is not MigrationStatus.RUNNING:
            return  # held while the migration pauses
        if current is TaskState.WAITING:
            self.tasks[key] = TaskState.RUNNING
        elif current is TaskState.RUNNING:
            self.tasks[key] = self.outcomes[key]


@st.composite
def graphs(draw: st.DrawFn) -> list[frozenset[int]]:
    """A random DAG in topological order: each step needs some of the steps before it."""
    size = draw(st.integers(1, 7), label="steps")
    return [
        frozenset(draw(st.sets(st.sampled_from(range(index)))) if index else ())
        for index in range(size)
    ]


def dependants(needs: list[frozenset[int]], of: set[int]) -> set[int]:
    found = set(of)
    for index, needed in enumerate(needs):  # topological: a step's needs come before it
        if needed & found:
            found.add(index)
    return found - of


@settings(max_examples=400, deadline=None)
@given(needs=graphs(), data=st.data())
def test_random_graphs_with_pauses_respect_needs_and_end_right(
    needs: list[frozenset[int]], data: st.DataObject
) -> None:
    task_counts = data.draw(
        st.lists(st.integers(0, 4), min_size=len(needs), max_size=len(needs)), label="tasks"
    )
    outcomes = {
        (index, task): data.draw(st.sampled_from(OUTCOMES))
        for index, count in enumerate(task_counts)
        for task in range(count)
    }
    sim = Simulation(needs, task_counts, outcomes, [W] * len(needs))
    pauses = 0
    while True:
        if pauses < 3 and sim.status is MigrationStatus.RUNNING and data.draw(st.booleans()):
            sim.status = MigrationStatus.PAUSING  # the operator pauses between two polls
            pauses += 1
        decision = sim.poll()
        assert sim.polls < 300, "the coordinator never finished"
        if sim.status is MigrationStatus.PAUSED:
            assert not decision.requeue
            sim.status = MigrationStatus.RUNNING  # the operator resumes; the poll is queued again
            continue
        if not decision.requeue:
            assert sim.status in (MigrationStatus.COMPLETED, MigrationStatus.FAILED)
            break
        if sim.status is MigrationStatus.RUNNING:
            # Invariant: a poll starts every ready step (independent ones at once) and closes
            # every step whose tasks all finished.
            assert sim.ready() == []
            for index, status in enumerate(sim.statuses):
                if status is R:
                    assert any(
                        task in (TaskState.WAITING, TaskState.RUNNING)
                        for (owner, _), task in sim.tasks.items()
                        if owner == index
                    )
        unfinished = [
            k for k, v in sim.tasks.items() if v in (TaskState.WAITING, TaskState.RUNNING)
        ]
        if sim.status is MigrationStatus.PAUSING:
            unfinished = [k for k in unfinished if sim.tasks[k] is TaskState.RUNNING]
        if unfinished:
            # At least one task moves between two polls, so every run ends.
            for key in data.draw(st.lists(st.sampled_from(unfinished), min_size=1, max_size=3)):
                sim.advance(key)

    assert all(status not in (W, R) for status in sim.statuses)
    failed = {index for index, status in enumerate(sim.statuses) if status is F}
    bad_task = any(sim.tasks[key] in (TaskState.FAILED, TaskState.CANCELED) for key in sim.tasks)
    assert bool(failed) == bad_task
    if failed:
        assert sim.status is MigrationStatus.FAILED
        # What needs a failed step, directly or not, never ran; nothing started after a failure.
        assert all(sim.statuses[index] is S for index in dependants(needs, failed))
        assert sim.failed_at is not None
        assert all(poll <= sim.failed_at for poll in sim.started_at.values())
    else:
        assert sim.status is MigrationStatus.COMPLETED
        # A step without tasks had nothing to do: skipped; every other one completed.
        assert sim.statuses == [S if not count else C for count in sim.task_counts]
