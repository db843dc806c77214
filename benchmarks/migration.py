"""End-to-end migration time, per-step figures and peak memory, against the set-based baseline.

    python benchmarks/migration.py --units 100000 --repos 200 --workers 1 2
    python benchmarks/migration.py --plugins rpm --units 100000 --repos 100 --workers 1 2

Generates the sample in --work, or reuses the one there when it was generated with the same
parameters and generator (its manifest, written once it is complete, says; the output says
which). For an ISO sample, first runs the baseline
(``baseline.py``: the same work set-based in one process, on a lean schema and on this
project's) on the same sample. Then for each worker count: a fresh database on the server of
PULP2TO3_BENCH_SERVER_URL (default: the local cluster), ``pulp2to3 api`` and N ``pulp2to3
worker`` processes, one migration submitted the way ``pulp2to3 migrate`` does it, and the report
polled until it ends. It prints, per step: time, units/s, batch duration median and p95, the
transition latency (from the last task of the steps it needs ending to the step starting) and
the ratio to the baseline's time for the same work; then the peak RSS (VmHWM) of the API, of
each worker and of the PostgreSQL backends serving the database. ``--record`` appends the
tables to docs/benchmarks.md with the command, date, machine and load.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime
import json
import os
import secrets
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import asyncpg
import baseline
import common

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' helpers

from pulp2to3 import runner
from pulp2to3.sample import SampleSummary, sample_in
from pulp2to3.schema import init_db
from tests.ports_support import free_port

SERVER_URL = os.environ.get("PULP2TO3_BENCH_SERVER_URL", common.LOCAL_SERVER)
DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"

# Start and end of each batch task of a step (Procrastinate's job events).
BATCH_TIMES = """
SELECT t.step_code, extract(epoch FROM max(e.at) FILTER (WHERE e.type IN ('succeeded', 'failed'))
                                     - max(e.at) FILTER (WHERE e.type = 'started')) AS seconds
  FROM migration_task AS t JOIN procrastinate_events AS e ON e.job_id = t.job_id
 WHERE t.migration_id = $1 AND t.step_code IS NOT NULL
 GROUP BY t.job_id, t.step_code
"""
# From the last task of the steps a step needs ending, to the step starting.
TRANSITIONS = """
SELECT s.code, extract(epoch FROM s.started_at - (
         SELECT max(e.at) FROM migration_task AS t
           JOIN procrastinate_events AS e
             ON e.job_id = t.job_id AND e.type IN ('succeeded', 'failed')
          WHERE t.migration_id = s.migration_id AND t.step_code = ANY (s.needs))) AS seconds
  FROM migration_step AS s
 WHERE s.migration_id = $1 AND cardinality(s.needs) > 0 AND s.started_at IS NOT NULL
"""
BACKENDS = "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"


def peak_rss_mib(pid: int) -> float:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return float("nan")
    for line in lines:
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclasses.dataclass
class StepFigures:
    code: str
    seconds: float
    done: int
    tasks: int
    batches: list[float]
    transition: float | None

    def batch_summary(self) -> str:
        if not self.batches:
            return ""
        ordered = sorted(self.batches)
        p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        return f"{statistics.median(ordered):.2f} / {p95:.2f}"


@dataclasses.dataclass
class RunFigures:
    workers: int
    status: str
    seconds: float
    steps: list[StepFigures]
    api_rss: float
    worker_rss: list[float]
    postgres_rss: float  # the largest VmHWM of a backend serving the database

    @property
    def transitions(self) -> list[float]:
        return [s.transition for s in self.steps if s.transition is not None]


async def fresh_database() -> str:
    url = await common.create_database(SERVER_URL)
    connection = await asyncpg.connect(url)
    try:
        await init_db(connection)
    finally:
        await connection.close()
    return url


async def _step_figures(
    connection: asyncpg.Connection, migration_id: object, report: object
) -> list[StepFigures]:
    batches: dict[str, list[float]] = {}
    for row in await connection.fetch(BATCH_TIMES, migration_id):
        if row["seconds"] is not None:
            batches.setdefault(row["step_code"], []).append(float(row["seconds"]))
    transitions = {
        row["code"]: float(row["seconds"])
        for row in await connection.fetch(TRANSITIONS, migration_id)
        if row["seconds"] is not None
    }
    figures = []
    for step in report.steps:  # type: ignore[attr-defined]
        took = (
            (step.finished_at - step.started_at).total_seconds()
            if step.started_at and step.finished_at
            else float("nan")
        )
        figures.append(
            StepFigures(
                step.code,
                took,
                step.done,
                len(step.job_ids),
                batches.get(step.code, []),
                transitions.get(step.code),
            )
        )
    return figures


async def measure(
    sample: SampleSummary, work: Path, workers: int, keep_database: bool = False
) -> RunFigures:
    url = await fresh_database()
    env = common.migration_environment(
        url,
        sample,
        work / f"media-{workers}",
        admin_password=secrets.token_urlsafe(12),
        api_bind=f"127.0.0.1:{free_port()}",
    )
    api = runner.api_process(env)
    try:
        with runner.worker_processes(workers, env) as processes:
            async with runner.pool_to(url) as pool, pool.acquire() as connection:
                plan = (sample.plan_path).read_text()
                migration_id = await runner.submit(connection, plan)
                report = await runner.watch(pool, migration_id, lambda *_: None)
                steps = await _step_figures(connection, migration_id, report)
                backends = [row["pid"] for row in await connection.fetch(BACKENDS)]
                postgres_rss = max(peak_rss_mib(pid) for pid in backends)
            worker_rss = [peak_rss_mib(p.pid) for p in processes]
        api_rss = peak_rss_mib(api.pid)
    finally:
        runner.stop_processes([api])
    if keep_database:
        print(f"kept database: {url}", flush=True)
    else:
        await common.drop_database(SERVER_URL, url)
    assert report.finished_at is not None
    return RunFigures(
        workers,
        report.status,
        (report.finished_at - report.created_at).total_seconds(),
        steps,
        api_rss,
        worker_rss,
        postgres_rss,
    )


def _ratio(seconds: float, limit: float | None) -> str:
    return f"{seconds / limit:.1f} x" if limit else ""


def run_table(run: RunFigures, limits: dict[str, float]) -> list[str]:
    """The markdown table of one run; ``limits`` is the baseline's (project schema) time per
    step."""
    ratio = _ratio(run.seconds, limits.get("end to end"))
    lines = [
        f"{run.workers} worker(s), {run.status}: **{run.seconds:.1f} s** end to end"
        + (f" ({ratio} the baseline)" if ratio else ""),
        "",
        "| step | time | units/s | tasks | batch median / p95 (s) | transition (s) | x baseline |",
        "|---|---|---|---|---|---|---|",
    ]
    for step in run.steps:
        rate = step.done / step.seconds if step.seconds else float("nan")
        transition = "" if step.transition is None else f"{step.transition:.2f}"
        lines.append(
            f"| {step.code} | {step.seconds:.1f} s | {rate:,.0f} ({step.done:,}) | {step.tasks}"
            f" | {step.batch_summary()} | {transition}"
            f" | {_ratio(step.seconds, limits.get(step.code))} |"
        )
    if run.transitions:
        lines.append(
            f"\nTransitions: median {statistics.median(run.transitions):.2f} s,"
            f" max {max(run.transitions):.2f} s."
        )
    lines.append(
        f"Peak RSS: API {run.api_rss:.0f} MiB; workers "
        + ", ".join(f"{r:.0f} MiB" for r in run.worker_rss)
        + f"; largest PostgreSQL backend {run.postgres_rss:.0f} MiB."
    )
    return lines


def baseline_table(runs: dict[str, baseline.BaselineRun]) -> list[str]:
    labels = list(runs)
    lines = [
        "| baseline part | " + " | ".join(labels) + " |",
        "|---|" + "---|" * len(labels),
    ]
    for part in runs[labels[0]].times:
        cells = " | ".join(
            f"{runs[label].times[part]:.2f} s"
            + (f" ({runs[label].rows[part]:,} rows)" if part in runs[label].rows else "")
            for label in labels
        )
        lines.append(f"| {part} | {cells} |")
    return lines


def machine() -> str:
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return f"{os.cpu_count()} cores, load average {load} at the end"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=100_000)
    parser.add_argument("--repos", type=int, default=200)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--plugins", nargs="+", default=["iso"], help="iso, rpm or both")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "pulp2to3-bench")
    parser.add_argument("--no-baseline", action="store_true", help="skip the baseline")
    parser.add_argument("--record", action="store_true", help="append to docs/benchmarks.md")
    parser.add_argument(
        "--keep-database",
        action="store_true",
        help="keep each run's database (and media) to profile its steps again; prints its URL",
    )
    parser.add_argument("--json", type=Path, help="also write the figures there (plot.py reads)")
    args = parser.parse_args()
    sample_dir = args.work / f"sample-{'-'.join(args.plugins)}-{args.repos}-{args.units}"
    sample, reused = sample_in(
        sample_dir,
        repos=args.repos,
        units=args.units,
        seed=1,
        plugins=tuple(args.plugins),
        fmt="archive",
    )
    print(f"sample {'reused' if reused else 'generated'}: {sample_dir}", flush=True)
    lines = [
        f"### {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC:"
        f" `python benchmarks/migration.py {' '.join(sys.argv[1:])}`",
        "",
    ]
    limits: dict[str, float] = {}
    if args.plugins == ["iso"] and not args.no_baseline:
        rows = args.work / f"baseline-rows-{args.repos}-{args.units}"
        await baseline.export_staged_rows(sample, rows, SERVER_URL)
        baseline_runs = {
            label: await baseline.run(
                rows, sample, args.work / "media-baseline", SERVER_URL, lean=lean
            )
            for label, lean in (("lean schema", True), ("project schema", False))
        }
        shutil.rmtree(rows, ignore_errors=True)
        limits = baseline.step_times(baseline_runs["project schema"].times)
        lines += [*baseline_table(baseline_runs), ""]
        print("\n".join(lines), flush=True)
        lines_printed = len(lines)
    else:
        lines_printed = 0
    runs: list[RunFigures] = []
    for count in args.workers:
        run = await measure(sample, args.work, count, args.keep_database)
        runs.append(run)
        lines += [*run_table(run, limits), ""]
        print("\n".join(lines[lines_printed:]), flush=True)
        lines_printed = len(lines)
    lines.append(f"Machine: {machine()}.")
    print(lines[-1])
    if args.json:
        figures = {
            "units": args.units,
            "repos": args.repos,
            "baseline": limits,
            "runs": [dataclasses.asdict(run) for run in runs],
        }
        args.json.write_text(json.dumps(figures, indent=1))
    if args.record:
        with DOCS.open("a", encoding="utf-8") as docs:
            docs.write("\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
