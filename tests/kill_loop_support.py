"""Worker processes that a fault run kills and replaces, each known by its Procrastinate worker id.

Workers record no pid in the database; the fleet starts them one at a time and waits for each
to register (a new row in ``procrastinate_workers``), so the new row is that process's. It can
then find and kill the worker running a given job, such as the coordinator's poll.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys

import asyncpg

from tests.waiting_support import eventually

WORKER_COMMAND = [sys.executable, "-m", "pulp2to3.cli", "--log-level", "WARNING", "worker"]


def spawn_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        WORKER_COMMAND,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


class WorkerFleet:
    def __init__(self, pool: asyncpg.Pool, env: dict[str, str]) -> None:
        self.pool = pool
        self.env = env
        self.processes: dict[int, subprocess.Popen[bytes]] = {}  # worker id -> its process
        self.killed = 0

    async def _last_worker_id(self) -> int:
        async with self.pool.acquire() as connection:
            last: int = await connection.fetchval(
                "SELECT coalesce(max(id), 0) FROM procrastinate_workers"
            )
        return last

    async def start(self) -> None:
        """One more worker; returns once it has registered."""
        before = await self._last_worker_id()
        process = spawn_worker(self.env)

        async def registered() -> bool:
            assert process.poll() is None, f"the worker exited with {process.returncode}"
            return await self._last_worker_id() > before

        await eventually(registered, 60, "a new worker to register")
        self.processes[await self._last_worker_id()] = process

    async def replace(self, worker_id: int) -> None:
        """SIGKILL the worker ``worker_id`` and start another."""
        process = self.processes.pop(worker_id)
        process.send_signal(signal.SIGKILL)
        process.wait()
        self.killed += 1
        await self.start()

    async def busy_workers(self, step_code: str) -> list[int]:
        """Our workers running a task of ``step_code`` now."""
        async with self.pool.acquire() as connection:
            rows = await connection.fetch(
                "SELECT j.worker_id FROM migration_task t JOIN procrastinate_jobs j"
                " ON j.id = t.job_id WHERE t.step_code = $1 AND j.status = 'doing'",
                step_code,
            )
        return [row["worker_id"] for row in rows if row["worker_id"] in self.processes]

    async def coordinator_worker(self, migration_id: str) -> int | None:
        """Our worker running the coordinator's poll of ``migration_id`` now, if any."""
        async with self.pool.acquire() as connection:
            worker_id: int | None = await connection.fetchval(
                "SELECT worker_id FROM procrastinate_jobs WHERE lock = $1 AND status = 'doing'",
                f"pulp2to3.coordinator.{migration_id}",
            )
        return worker_id if worker_id in self.processes else None

    async def kill_busy(self, step_code: str, chooser: random.Random) -> bool:
        """Replace a random one of the workers running a task of ``step_code``; whether there
        was one."""
        busy = await self.busy_workers(step_code)
        if busy:
            await self.replace(chooser.choice(busy))
        return bool(busy)

    async def kill_coordinator(self, migration_id: str) -> bool:
        """Replace the worker running the coordinator's poll; whether one was running it."""
        worker_id = await self.coordinator_worker(migration_id)
        if worker_id is not None:
            await self.replace(worker_id)
        return worker_id is not None

    def alive(self) -> list[int]:
        return [process.pid for process in self.processes.values() if process.poll() is None]

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
