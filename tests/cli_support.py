"""What the CLI's tests share: running ``pulp2to3`` as a process, and a real API to talk to."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import IO

import aiohttp

from pulp2to3 import runner
from pulp2to3.sample import SampleSummary
from tests.waiting_support import eventually

CLI = [sys.executable, "-m", "pulp2to3.cli"]
PASSWORD = "operator-secret"


def run_cli(
    *args: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


async def _answers(url: str) -> bool:
    try:
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            return response.status == 200
    except aiohttp.ClientError:
        return False


@contextlib.contextmanager
def api_server(env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """A ``pulp2to3 api`` process on ``env``'s PULP2TO3_API_BIND, answering, stopped at the end."""
    api = subprocess.Popen(
        [*CLI, "--log-level", "WARNING", "api"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        status = f"http://{env['PULP2TO3_API_BIND']}/pulp/api/v3/status/"
        asyncio.run(eventually(lambda: _answers(status), 30, "the API to answer"))
        yield api
    finally:
        api.send_signal(signal.SIGTERM)
        try:
            api.wait(20)
        except subprocess.TimeoutExpired:
            api.kill()
            api.wait()


def submit(db_url: str, sample: SampleSummary) -> str:
    """Start a migration of the sample the way the API does (no worker runs it yet)."""

    async def run() -> str:
        async with runner.connection_to(db_url) as connection:
            plan = json.loads(sample.plan_path.read_text())
            return str(await runner.submit(connection, plan))

    return asyncio.run(run())


def read_until(stream: IO[str] | None, text: str) -> None:
    """Read a process's output up to the first line holding ``text``."""
    assert stream is not None
    for line in stream:
        if text in line:
            return
    raise AssertionError(f"the output ended without {text!r}")
