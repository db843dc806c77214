"""``GET /metrics``: Prometheus text, every figure read from the database at scrape time.

Workers count their work in the database (the batches' counters, Procrastinate's jobs, events
and heartbeats), so one scrape of any API process sees the work of every worker on every
machine; nothing is kept in process memory between scrapes.
"""

from __future__ import annotations

from collections.abc import Iterator

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
    StateSetMetricFamily,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from pulp2to3.coordination import MigrationStatus
from pulp2to3.http import state
from pulp2to3.queue.application import STALLED_AFTER
from pulp2to3.store import metrics

PATH = "/metrics"
# Seconds a batch job took: most take well under a minute; a slow disk or a big RPM takes more.
BATCH_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)


class FiguresCollector(Collector):
    """Turns one snapshot of the database's figures into metric families."""

    def __init__(self, figures: metrics.Figures) -> None:
        self.figures = figures

    def collect(self) -> Iterator[Metric]:
        figures = self.figures
        step_labels = ["migration", "step"]
        migrated = CounterMetricFamily(
            "pulp2to3_units_migrated", "Units a step migrated.", labels=step_labels
        )
        failed = CounterMetricFamily(
            "pulp2to3_units_failed", "Units a step could not migrate.", labels=step_labels
        )
        planned = GaugeMetricFamily(
            "pulp2to3_step_units", "Units a step has to migrate.", labels=step_labels
        )
        duration = GaugeMetricFamily(
            "pulp2to3_step_duration_seconds",
            "How long a step ran (so far, while it runs).",
            labels=step_labels,
        )
        for step in figures.steps:
            labels = [str(step.migration_id), step.code]
            migrated.add_metric(labels, step.done)
            failed.add_metric(labels, step.failed)
            planned.add_metric(labels, step.total)
            if step.seconds is not None:
                duration.add_metric(labels, step.seconds)
        yield from (migrated, failed, planned, duration)

        tasks = GaugeMetricFamily(
            "pulp2to3_tasks", "A migration's tasks in each state.", labels=["migration", "state"]
        )
        for migration_id, task_state, count in figures.task_states:
            tasks.add_metric([str(migration_id), task_state], count)
        yield tasks

        queue = GaugeMetricFamily(
            "pulp2to3_queue_jobs", "Jobs waiting for a worker, per queue.", labels=["queue"]
        )
        for name, count in figures.queue_depth.items():
            queue.add_metric([name], count)
        yield queue
        yield GaugeMetricFamily(
            "pulp2to3_workers_online",
            "Workers whose heartbeat is recent.",
            value=figures.online_workers,
        )

        batches = HistogramMetricFamily(
            "pulp2to3_batch_duration_seconds",
            "How long finished batch jobs ran.",
            labels=["step"],
        )
        for found in figures.batch_durations:
            buckets = [
                (str(bound), count)
                for bound, count in zip(BATCH_BUCKETS, found.cumulative, strict=True)
            ]
            buckets.append(("+Inf", found.count))
            batches.add_metric([found.step_code], buckets, found.sum)
        yield batches

        status = StateSetMetricFamily(
            "pulp2to3_migration_status", "Each migration's status.", labels=["migration"]
        )
        for migration_id, current in figures.reports.items():
            status.add_metric(
                [str(migration_id)],
                {value.value: value.value == current for value in MigrationStatus},
            )
        yield status


async def get_metrics(request: web.Request) -> web.Response:
    async with request.app[state.POOL].acquire() as connection:
        figures = await metrics.figures(
            connection, stalled_after=STALLED_AFTER, bounds=BATCH_BUCKETS
        )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FiguresCollector(figures))
    return web.Response(
        body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get(PATH, get_metrics)
