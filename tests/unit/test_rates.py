"""The rate and ETA estimator: steady progress, pauses, bursts and stalls."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from pulp2to3.rates import MIN_SPAN, WINDOW, Estimate, estimate


def _same(ours: Estimate, theirs: Estimate) -> None:
    for mine, other in ((ours.rate, theirs.rate), (ours.eta, theirs.eta)):
        assert (mine is None) == (other is None)
        if mine is not None and other is not None:
            assert math.isclose(mine, other, rel_tol=1e-6, abs_tol=1e-6)


times = st.floats(min_value=0, max_value=10_000, allow_nan=False)
batches = st.lists(st.tuples(times, st.integers(min_value=0, max_value=10_000)), max_size=30)
pauses = st.lists(st.tuples(times, st.one_of(st.none(), times)), max_size=5)


@given(
    since=st.one_of(st.none(), times),
    now=times,
    left=st.integers(min_value=-5, max_value=10**9),
    finished=batches,
    paused=pauses,
)
def test_never_negative_and_eta_only_from_a_rate(
    since: float | None,
    now: float,
    left: int,
    finished: list[tuple[float, int]],
    paused: list[tuple[float, float | None]],
) -> None:
    result = estimate(since=since, now=now, left=left, finished=finished, pauses=paused)
    assert result.rate is None or (result.rate >= 0 and math.isfinite(result.rate))
    assert result.eta is None or (result.eta >= 0 and math.isfinite(result.eta))
    if result.rate is None or result.rate == 0:
        assert result.eta is None or (result.eta == 0 and left <= 0)


@given(
    every=st.floats(min_value=0.1, max_value=10),
    size=st.integers(min_value=1, max_value=1000),
    count=st.integers(min_value=1, max_value=2000),
    left=st.integers(min_value=0, max_value=10**6),
)
def test_steady_progress_gives_its_rate(every: float, size: int, count: int, left: int) -> None:
    finished = [(every * (i + 1), size) for i in range(count)]
    now = finished[-1][0]
    result = estimate(since=0.0, now=now, left=left, finished=finished)
    if now < MIN_SPAN:
        assert result.rate is None
        assert result.eta is None
        return
    span = min(WINDOW, now)
    in_window = sum(1 for at, _ in finished if at > now - span)
    assert result.rate is not None
    assert math.isclose(result.rate, in_window * size / span)
    # Over a whole window, the batches counted differ from the true pace by at most one.
    assert abs(result.rate - size / every) <= size / span + 1e-9 * size / every
    assert result.eta is not None
    assert math.isclose(result.eta, left / result.rate)


@given(
    finished=st.lists(
        st.tuples(st.floats(min_value=0, max_value=500), st.integers(0, 100)), max_size=30
    ),
    now=st.floats(min_value=0, max_value=500),
    pause_at=st.floats(min_value=0, max_value=500),
    pause_for=st.floats(min_value=0.001, max_value=10_000),
    left=st.integers(min_value=0, max_value=10**6),
)
def test_a_pause_changes_nothing(
    finished: list[tuple[float, int]], now: float, pause_at: float, pause_for: float, left: int
) -> None:
    """The same work with a pause inserted (later batches and now shifted by its length) gives
    the same estimate as without it: paused time counts neither for nor against the rate."""
    plain = estimate(since=0.0, now=now, left=left, finished=finished)

    def shifted(at: float) -> float:
        return at + pause_for if at > pause_at else at

    with_pause = estimate(
        since=0.0,
        now=shifted(now),
        left=left,
        finished=[(shifted(at), units) for at, units in finished],
        pauses=[(pause_at, pause_at + pause_for)],
    )
    _same(with_pause, plain)


@given(
    since=st.floats(min_value=0, max_value=100),
    now=st.floats(min_value=0, max_value=10_000),
    left=st.integers(min_value=1, max_value=10**6),
)
def test_while_paused_the_estimate_holds_still(since: float, now: float, left: int) -> None:
    """Paused at ``now``: later reads (the pause still open) give the same figures."""
    finished = [(since + 1.0, 10), (max(now - 1.0, since), 20)]
    at_pause = estimate(since=since, now=now, left=left, finished=finished)
    later = estimate(
        since=since, now=now + 3600, left=left, finished=finished, pauses=[(now, None)]
    )
    _same(later, at_pause)


@given(
    units=st.integers(min_value=1, max_value=10**6),
    burst_at=st.floats(min_value=MIN_SPAN, max_value=1000),
    after=st.floats(min_value=0, max_value=WINDOW - 1),
    left=st.integers(min_value=1, max_value=10**6),
)
def test_a_burst_counts_over_the_window(
    units: int, burst_at: float, after: float, left: int
) -> None:
    """Everything finishing at once: the rate spreads it over the window, and the ETA is finite."""
    now = burst_at + after
    result = estimate(since=0.0, now=now, left=left, finished=[(burst_at, units)])
    span = min(WINDOW, now)
    assert result.rate is not None
    assert math.isclose(result.rate, units / span)
    assert result.eta is not None
    assert math.isclose(result.eta, left * span / units)


@given(
    stalled_for=st.floats(min_value=WINDOW, max_value=100_000),
    left=st.integers(min_value=1, max_value=10**6),
)
def test_a_stall_gives_no_eta(stalled_for: float, left: int) -> None:
    finished = [(float(t), 50) for t in range(1, 100)]
    result = estimate(since=0.0, now=99.0 + stalled_for, left=left, finished=finished)
    assert result.rate == 0
    assert result.eta is None


def test_nothing_until_enough_was_seen() -> None:
    assert estimate(since=None, now=100.0, left=10, finished=[]).rate is None
    assert estimate(since=0.0, now=MIN_SPAN / 2, left=10, finished=[(1.0, 5)]).rate is None
    assert estimate(since=0.0, now=30.0, left=10, finished=[]).rate is None
    assert estimate(since=0.0, now=30.0, left=0, finished=[(10.0, 5)]).eta == 0
