"""The one-shot migration: store the plan, run it, watch the report until it ends.

Used by ``pulp2to3 migrate`` and ``pulp2to3 demo``; goes through the same store and dispatch
functions as the REST API, so a one-shot run and an API run are the same migration.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import asyncpg

from pulp2to3.coordination import FINISHED_MIGRATION_STATUSES, MigrationStatus
from pulp2to3.database import is_unavailable
from pulp2to3.plan import parse_plan, plan_object
from pulp2to3.queue.application import STALLED_AFTER
from pulp2to3.queue.dispatch import queue_migration
from pulp2to3.store import migrations, plans
from pulp2to3.store.status import database_status

WATCH_EVERY = 0.5
WATCH_QUERY_TIMEOUT = 5.0


async def submit(
    connection: asyncpg.Connection, raw_plan: object, *, validate: bool = False
) -> uuid.UUID:
    """Validate and store the plan, then start a migration of it; return its id."""
    plan = plan_object(raw_plan)
    parse_plan(plan)
    stored = await plans.insert_plan(connection, plan)
    migration_id, _ = await queue_migration(connection, stored.id, validate=validate, dry_run=False)
    return migration_id


async def watch(
    pool: asyncpg.Pool,
    migration_id: uuid.UUID,
    show: Callable[[migrations.ReportView, bool], None],
    unreachable: Callable[[str], None] = lambda _text: None,
) -> migrations.ReportView:
    """Call ``show`` with the report, and whether a worker is online, every half second until
    the report is finished; return it. The database may go away meanwhile (a restart, a
    failover): ``unreachable`` says so, and the watch goes on once it is back."""
    while True:
        try:
            async with pool.acquire() as connection:
                report = await migrations.get_migration(connection, migration_id)
                assert report is not None
                status = await database_status(
                    connection, stalled_after=STALLED_AFTER, query_timeout=WATCH_QUERY_TIMEOUT
                )
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            if not is_unavailable(exc):
                raise
            unreachable(f"the database is out of reach ({exc}): still trying")
            await asyncio.sleep(WATCH_EVERY)
            continue
        show(report, bool(status.workers))
        if MigrationStatus(report.status) in FINISHED_MIGRATION_STATUSES:
            return report
        await asyncio.sleep(WATCH_EVERY)


def api_process(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A ``pulp2to3 api`` process (stop it with ``stop_processes``)."""
    return subprocess.Popen(
        [sys.executable, "-m", "pulp2to3.cli", "--log-level", "WARNING", "api"],
        env=env,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


@contextlib.contextmanager
def worker_processes(count: int, env: dict[str, str]) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Start ``count`` ``pulp2to3 worker`` processes; stop them (SIGTERM, then kill) on exit."""
    command = [sys.executable, "-m", "pulp2to3.cli", "--log-level", "WARNING", "worker"]
    processes = [
        subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, start_new_session=True)
        for _ in range(count)
    ]
    try:
        yield processes
    finally:
        stop_processes(processes)


def stop_processes(processes: list[subprocess.Popen[bytes]], grace: float = 20) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def child_environment(database_url: str, **overrides: Path | str) -> dict[str, str]:
    """The environment of worker and API processes: ours, with the database URL pinned, so
    that they all use the server this process resolved (embedded or not)."""
    env = dict(os.environ)
    env["PULP2TO3_DATABASE_URL"] = database_url
    env.update({f"PULP2TO3_{name.upper()}": str(value) for name, value in overrides.items()})
    return env


@contextlib.asynccontextmanager
async def pool_to(url: str) -> AsyncIterator[asyncpg.Pool]:
    """Two connections: one watches the report while the other acts on the operator's answer
    (an asyncpg connection runs one query at a time)."""
    from pulp2to3.database import create_pool

    pool = await create_pool(url, min_size=1, max_size=2)
    try:
        yield pool
    finally:
        await pool.close()


@contextlib.asynccontextmanager
async def connection_to(url: str) -> AsyncIterator[asyncpg.Connection]:
    from pulp2to3.database import connect

    connection = await connect(url)
    try:
        yield connection
    finally:
        await connection.close()
