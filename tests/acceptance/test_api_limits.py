"""A real ``pulp2to3 api`` process held by many more half-open connections than it has file
handles: the scaled-down version of 20,000 connections against the default open-files limit."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.ports_support import free_port
from tests.waiting_support import eventually

OPEN_FILES = 300  # the API's soft and hard limit: what 20,000 connections are to 1,024
HALF_OPEN = 1000
READ_TIMEOUT = 2
STATUS = "/pulp/api/v3/status/"


# ``pulp2to3 api`` with few open files: the limit is set in the API's process, before it runs.
API_WITH_FEW_FILES = f"""
import resource, runpy, sys
resource.setrlimit(resource.RLIMIT_NOFILE, ({OPEN_FILES}, {OPEN_FILES}))
sys.argv = ["pulp2to3", "--log-level", "INFO", "api"]
runpy.run_module("pulp2to3.cli", run_name="__main__")
"""


@dataclasses.dataclass(frozen=True)
class Api:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> list[str]:
        """Interrupt it (kill it if it does not stop) and read its log lines."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return self.log.read_text().splitlines()


@pytest.fixture
def api(db_url: str, tmp_path: Path) -> Iterator[Api]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULP2TO3_")}
    env.update(
        PULP2TO3_DATABASE_URL=db_url,
        PULP2TO3_ADMIN_PASSWORD="secret",
        PULP2TO3_API_BIND=f"127.0.0.1:{port}",
        PULP2TO3_API_READ_TIMEOUT=str(READ_TIMEOUT),
    )
    log = tmp_path / "api.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-c", API_WITH_FEW_FILES],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    api = Api(port, process, log)
    try:
        yield api
    finally:
        api.stop()


async def status(port: int) -> int | None:
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}{STATUS}") as response,
        ):
            return response.status
    except aiohttp.ClientConnectionError:
        return None


def enough_open_files_here() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = HALF_OPEN + 100
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))


async def test_many_more_half_open_connections_than_file_handles_leave_the_api_answering(
    api: Api,
) -> None:
    port = api.port
    enough_open_files_here()

    async def listening() -> bool:
        assert api.process.poll() is None, api.log.read_text()  # e.g. the port was taken
        return await status(port) == 200

    await eventually(listening, 20, "the API answers")
    held = []
    async with asyncio.timeout(20):  # connects hang once the API stops accepting
        for n in range(HALF_OPEN):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"" if n % 2 else b"GET / HTTP/1.1\r\nHost: x\r\n")
            held.append(writer)

    answered = await status(port)
    alive = api.process.poll() is None
    for writer in held:
        writer.close()
    lines = api.stop()
    log = "\n".join(lines[:60])
    assert (answered, alive) == (200, True), log
    # Under load a burst of accepts can still meet the open-files limit before the oldest
    # connections are closed: asyncio then stops accepting for a second, and its repeated error
    # is logged at a bounded rate, never flooding the log.
    refused = [line for line in lines if "out of system resource" in line]
    assert len(refused) <= 10, log
    assert any('"api_connection_cap_lowered"' in line for line in lines), log
    limit_lines = [line for line in lines if '"api_connection_limit_reached"' in line]
    assert 0 < len(limit_lines) <= 10, log
    assert len(lines) < 50, log
