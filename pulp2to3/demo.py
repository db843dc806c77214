"""``pulp2to3 demo``: a whole migration on one machine with nothing set up beforehand.

An embedded PostgreSQL of its own, a generated Pulp 2 sample, worker processes, the API, and a
migration shown live; then the URLs of what it published, each checked to serve.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import html
import re
import secrets
import shutil
import socket
import subprocess
from pathlib import Path

import aiohttp
import asyncpg

from pulp2to3 import embedded
from pulp2to3.sample import SampleSummary, generate_sample
from pulp2to3.settings import Settings

DEMO_DATABASE = "pulp2to3_demo"
CONTENT = "/pulp/content/"
STATUS = "/pulp/api/v3/status/"
STARTING_EVERY = 0.2  # seconds between two looks at the API while it starts
MAX_FILES_TRIED = 200
_LINK = re.compile(r'<a href="([^"]+)">')


class DemoError(Exception):
    """The demo cannot go on; the message says why."""


@dataclasses.dataclass(frozen=True)
class DemoSetup:
    database_url: str
    sample: SampleSummary
    media_root: Path
    password: str


async def _fresh_database(server_url: str) -> str:
    """Drop the previous demo's database and make an empty one."""
    connection = await asyncpg.connect(server_url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{DEMO_DATABASE}" WITH (FORCE)')
    finally:
        await connection.close()
    return await embedded.ensure_database(server_url, DEMO_DATABASE)


async def prepare(settings: Settings, *, repos: int, units: int) -> DemoSetup:
    home = settings.data_dir / "demo"
    for old in ("sample", "media"):
        shutil.rmtree(home / old, ignore_errors=True)
    server_url = embedded.start_embedded_server(home)
    sample = generate_sample(home / "sample", repos=repos, units=units, seed=0)
    return DemoSetup(
        database_url=await _fresh_database(server_url),
        sample=sample,
        media_root=home / "media",
        password=secrets.token_urlsafe(12),
    )


def api_port(host: str, port: int) -> int:
    """``port`` when it is free on ``host``, else a free one (another program holds it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
            return port
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise DemoError(f"cannot serve the API on {host}:{port}: {exc.strerror}") from exc
        probe.bind((host, 0))
        free: int = probe.getsockname()[1]
        return free


async def wait_until_serving(api: subprocess.Popen[bytes], root: str) -> None:
    """Return once the API answers; a DemoError if its process ends first."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        while api.poll() is None:
            try:
                async with session.get(root + STATUS) as response:
                    if response.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(STARTING_EVERY)
    raise DemoError(f"the API did not start (it exited with {api.returncode}; its log is above)")


@dataclasses.dataclass(frozen=True)
class Published:
    listing: str  # a distribution's folder, listed
    file: str | None  # a file in it that is served from storage (Pulp 2 had downloaded it)


async def published(root: str, base_paths: list[str]) -> Published | None:
    """A distribution's listing and one of its files that answer 200, found by asking: the
    files Pulp 2 never downloaded (on_demand) answer a 302 to their remote instead."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        for base_path in base_paths:
            listing = f"{root}{CONTENT}{base_path}/"
            async with session.get(listing) as response:
                if response.status != 200:
                    continue
                names = [html.unescape(href) for href in _LINK.findall(await response.text())]
            files = [name for name in names if not name.endswith("/")][:MAX_FILES_TRIED]
            for name in files:
                async with session.head(listing + name, allow_redirects=False) as response:
                    if response.status == 200:
                        return Published(listing, listing + name)
            return Published(listing, None)
    return None
