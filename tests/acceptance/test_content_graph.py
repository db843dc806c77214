"""Content types as a graph, run by two real worker processes (tests/graph_plugin.py).

``graph_a`` and ``graph_b`` need nothing of each other and run at the same time; ``graph_c``
needs both and starts only once both finished. The report and the tasks' times show it.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from pulp2to3.plugins.registry import PLUGINS
from pulp2to3.runner import child_environment, stop_processes, submit
from pulp2to3.sample.writer import FolderDumpWriter
from pulp2to3.store import migrations, tasks
from tests import graph_plugin
from tests.waiting_support import eventually

pytestmark = pytest.mark.timeout(300)

REPO_ROOT = Path(__file__).resolve().parents[2]
A, B, C = (f"migrate_content.graph_{name}" for name in "abc")


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def write_dump(out: Path) -> Path:
    """One graph repository holding a unit of each type: blobs a and b, c tagging a."""
    with FolderDumpWriter(out, "pulp_database", compress=False) as writer:
        writer.collection("repos").write(
            {"_id": "r-g", "repo_id": "g-1", "notes": {"_repo-type": "graph-repo"}}
        )
        memberships = writer.collection("repo_content_units")
        for unit_type, unit in (
            ("graph_a", {"name": "a.bin", "sha256": sha("a.bin")}),
            ("graph_b", {"name": "b.bin", "sha256": sha("b.bin")}),
            ("graph_c", {"name": "latest", "blob": sha("a.bin")}),
        ):
            unit_id = f"{unit_type}-1"
            writer.collection(f"units_{unit_type}").write(
                {"_id": unit_id, "_last_updated": 1, **unit}
            )
            memberships.write(
                {
                    "repo_id": "g-1",
                    "unit_id": unit_id,
                    "unit_type_id": unit_type,
                    "created": "2024-01-02T03:04:05Z",
                }
            )
    return out


def span(
    started: datetime.datetime | None, finished: datetime.datetime | None
) -> tuple[datetime.datetime, datetime.datetime]:
    assert started is not None
    assert finished is not None
    return started, finished


def overlap(
    x: tuple[datetime.datetime, datetime.datetime], y: tuple[datetime.datetime, datetime.datetime]
) -> bool:
    return x[0] < y[1] and y[0] < x[1]


@contextlib.contextmanager
def graph_workers(count: int, env: dict[str, str]) -> Iterator[None]:
    """``count`` worker processes that know the graph plugin."""
    command = [sys.executable, "-m", "tests.graph_plugin", "--log-level", "WARNING", "worker"]
    processes = [
        subprocess.Popen(command, env=env, cwd=REPO_ROOT, stdin=subprocess.DEVNULL)
        for _ in range(count)
    ]
    try:
        yield
    finally:
        stop_processes(processes)


async def test_independent_types_overlap_and_a_type_waits_for_those_it_needs(
    db_url: str, pool: asyncpg.Pool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(PLUGINS, graph_plugin.PLUGIN.type, graph_plugin.PLUGIN)
    env = child_environment(
        db_url,
        pulp2_dump=write_dump(tmp_path / "dump"),
        pulp2_root=tmp_path / "pulp",
        media_root=tmp_path / "media",
    )
    with graph_workers(2, env):
        async with pool.acquire() as connection:
            migration_id = await submit(connection, {"plugins": [{"type": "graph"}]})

            async def finished() -> bool:
                report = await migrations.get_migration(connection, migration_id)
                return report is not None and report.finished_at is not None

            # Long enough for a batch that waits in vain for its partner to fail twice.
            await eventually(finished, 4 * graph_plugin.MEET_WITHIN, "the migration to finish")
            report = await migrations.get_migration(connection, migration_id)
            _, rows = await tasks.list_tasks(
                connection, [tasks.report_is(migration_id)], [], 100, 0
            )

    assert report is not None
    assert (report.status, report.error) == ("completed", None)
    steps = {step.code: step for step in report.steps}
    assert {code: step.needs for code, step in steps.items()} == {
        "premigrate": [],
        "premigrate_merge": ["premigrate"],
        A: ["premigrate_merge"],
        B: ["premigrate_merge"],
        C: [A, B],
        "compute_version_content": [A, B, C],
        "create_repositories": [A, B, C],
        "create_repo_versions": ["create_repositories", "compute_version_content"],
        "create_publications": ["create_repo_versions"],
        "create_distributions": ["create_publications"],
    }
    assert {code: steps[code].done for code in (A, B, C)} == {A: 1, B: 1, C: 1}

    # The steps of a and b overlapped; c started once both had finished.
    a, b, c = (span(steps[code].started_at, steps[code].finished_at) for code in (A, B, C))
    assert overlap(a, b)
    assert c[0] >= max(a[1], b[1])
    # So did their tasks, each in its own worker.
    jobs = {row.step: row for row in rows if row.step in (A, B, C)}
    ja, jb, jc = (span(jobs[code].started_at, jobs[code].finished_at) for code in (A, B, C))
    assert overlap(ja, jb)
    assert jobs[A].worker != jobs[B].worker
    assert jc[0] > max(ja[1], jb[1])
