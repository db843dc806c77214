"""``pulp2to3 demo``: a whole migration on one machine with nothing set up beforehand.

An embedded PostgreSQL of its own, a generated Pulp 2 sample, worker processes, the API, and a
migration shown live; then the URLs of what it published.
"""

from __future__ import annotations

import dataclasses
import secrets
import shutil
from pathlib import Path

import asyncpg

from pulp2to3 import embedded
from pulp2to3.sample import SampleSummary, generate_sample
from pulp2to3.settings import Settings

DEMO_DATABASE = "pulp2to3_demo"


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
