"""Rate and ETA of a migration step (or a whole migration) from the times its batches finished.

A pure function of plain numbers (seconds on one clock, the database's): the store gathers the
samples, the API and the progress bars show the result.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

WINDOW = 60.0  # seconds of running time the rate looks back over
MIN_SPAN = 5.0  # running seconds observed before any rate is given


@dataclasses.dataclass(frozen=True)
class Estimate:
    rate: float | None  # units per second over the recent running time
    eta: float | None  # seconds until what is left is done at that rate


def _merged(pauses: Iterable[tuple[float, float | None]], now: float) -> list[tuple[float, float]]:
    """Pause intervals clipped to ``now`` (an open one lasts until now), sorted, disjoint."""
    spans = sorted((start, now if end is None else min(end, now)) for start, end in pauses)
    merged: list[tuple[float, float]] = []
    for start, end in spans:
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _running(start: float, end: float, pauses: Sequence[tuple[float, float]]) -> float:
    """Seconds between start and end that were not paused."""
    paused = sum(max(0.0, min(end, p_end) - max(start, p_start)) for p_start, p_end in pauses)
    return max(0.0, end - start - paused)


def _window_start(since: float, now: float, pauses: Sequence[tuple[float, float]]) -> float:
    """The time from which ``WINDOW`` seconds of running time lead to now (or ``since``)."""
    need, cursor = WINDOW, now
    for p_start, p_end in reversed(pauses):
        gap = cursor - p_end
        if gap >= need:
            break
        need, cursor = need - gap, p_start
    return max(cursor - need, since)


def estimate(
    *,
    since: float | None,
    now: float,
    left: int,
    finished: Iterable[tuple[float, int]],
    pauses: Iterable[tuple[float, float | None]] = (),
) -> Estimate:
    """``since``: when the work started (None: not yet); ``left``: units not done nor failed;
    ``finished``: (time, units) of each batch that finished; ``pauses``: (paused at, resumed at
    or None while paused). The rate counts the units finished in the last minute of running time;
    it is None until ``MIN_SPAN`` running seconds were seen and a batch finished, and the ETA is
    None while the rate is zero or unknown. Neither is ever negative."""
    if since is None or now <= since:
        return Estimate(rate=None, eta=None)
    paused = _merged(pauses, now)
    start = _window_start(since, now, paused)
    span = _running(start, now, paused)
    samples = [(at, units) for at, units in finished if at <= now]
    if span < MIN_SPAN or not samples:
        return Estimate(rate=None, eta=None)
    recent = sum(max(0, units) for at, units in samples if at > start)
    rate = recent / span
    left = max(0, left)
    if left == 0:
        return Estimate(rate=rate, eta=0.0)
    return Estimate(rate=rate, eta=left / rate if rate > 0 else None)
