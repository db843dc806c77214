"""``pulp2to3 watch`` goes on through a PostgreSQL restart (a private server the test stops)."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
from pathlib import Path

import pytest

from pulp2to3 import runner
from pulp2to3.sample import generate_sample
from tests.cli_support import CLI, read_until
from tests.migration_support import worker_env, workers
from tests.private_postgres_support import database_on, private_server

pytestmark = pytest.mark.timeout(300)


async def test_watch_goes_on_through_a_postgresql_restart(tmp_path: Path) -> None:
    sample = generate_sample(tmp_path / "sample", repos=2, units=30, seed=9)
    with private_server() as server:
        async with database_on(server) as db_url:
            async with runner.connection_to(db_url) as connection:
                plan = json.loads(sample.plan_path.read_text())
                migration_id = await runner.submit(connection, plan)
            env = worker_env(db_url, sample, tmp_path / "media")
            watch = await asyncio.to_thread(
                subprocess.Popen,
                [*CLI, "watch", str(migration_id)], env=env, stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            try:
                # Not drawn on a pipe, the notices are logged: the watch reached the database.
                await asyncio.to_thread(read_until, watch.stderr, "waiting for a worker")
                await asyncio.to_thread(server.stop)
                await asyncio.to_thread(read_until, watch.stderr, "the database is out of reach")
                # Ctrl-C cannot ask about a migration it cannot read: it says so, and watches on.
                watch.send_signal(signal.SIGINT)
                await asyncio.to_thread(read_until, watch.stdout, "cannot change until it is back")
                assert watch.poll() is None
                await asyncio.to_thread(server.start)
                with workers(1, env):
                    stdout, stderr = await asyncio.to_thread(watch.communicate, timeout=180)
            finally:
                watch.kill()
    assert watch.returncode == 0, stdout + stderr
    assert f"Migration {migration_id}: completed" in stdout
    assert "migrate_content.iso: completed (30/30)" in stdout
