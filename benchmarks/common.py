"""What the benchmarks share: a scratch database, a running report, the sample's options.

Imported as ``common``: the benchmarks run as scripts (``python benchmarks/<name>.py``), which
puts this folder first on ``sys.path``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg

from pulp2to3 import database, runner
from pulp2to3.sample import SampleSummary, generate_sample

LOCAL_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def migration_environment(
    url: str, sample: SampleSummary, media: Path, **settings: str
) -> dict[str, str]:
    """The environment of the API and worker processes migrating ``sample`` into ``url``, with
    an empty ``media`` root."""
    shutil.rmtree(media, ignore_errors=True)
    return runner.child_environment(
        url,
        pulp2_dump=sample.dump_path,
        pulp2_root=sample.pulp_root,
        media_root=media,
        **settings,
    )


async def admin_execute(server: str, statement: str) -> None:
    """Run ``statement`` on its own connection to ``server`` (CREATE/DROP DATABASE)."""
    connection = await asyncpg.connect(server)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def create_database(server: str) -> str:
    """A new, empty database on ``server``; its URL."""
    name = f"pulp2to3_bench_{uuid.uuid4().hex[:12]}"
    await admin_execute(server, f'CREATE DATABASE "{name}"')
    return database.with_database(server, name)


async def drop_database(server: str, url: str) -> None:
    """Drop the database of ``url`` (one of :func:`create_database`), connections and all."""
    name = url.rsplit("/", 1)[1].split("?")[0]
    await admin_execute(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.asynccontextmanager
async def scratch_database(server: str) -> AsyncIterator[str]:
    """The URL of a new database on ``server``, dropped on the way out whatever happens."""
    url = await create_database(server)
    try:
        yield url
    finally:
        await drop_database(server, url)


async def start_migration(connection: asyncpg.Connection, plan: Any) -> uuid.UUID:
    """A running migration report of ``plan`` (and its plan row); the report's id."""
    migration_id: uuid.UUID = await connection.fetchval(
        "WITH p AS (INSERT INTO migration_plan (plan) VALUES ($1::jsonb) RETURNING id)"
        " INSERT INTO migration (plan_id, status, started_at, expanded_plan)"
        " SELECT id, 'running', now(), $1::jsonb FROM p RETURNING id",
        plan,
    )
    return migration_id


def add_sample_arguments(parser: argparse.ArgumentParser) -> None:
    """``--units``, ``--repos``, ``--fmt`` and ``--gzip``: the sample to generate."""
    parser.add_argument("--units", type=int, default=100_000)
    parser.add_argument("--repos", type=int, default=100)
    parser.add_argument("--fmt", choices=["archive", "folder"], default="archive")
    parser.add_argument("--gzip", action="store_true")


def generate_sample_of(out: Path, args: argparse.Namespace) -> SampleSummary:
    """The sample :func:`add_sample_arguments` describes, written to ``out``."""
    return generate_sample(out, repos=args.repos, units=args.units, fmt=args.fmt, gzip=args.gzip)


def sample_form(args: argparse.Namespace) -> str:
    """``archive``, ``folder gzip``...: the form of the sample, for a report line."""
    return f"{args.fmt}{' gzip' if args.gzip else ''}"


async def wait_for(check: Callable[[], Awaitable[bool]], what: str, within: float = 600) -> float:
    """Seconds until ``check()`` holds; the script stops, naming ``what``, after ``within``."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > within:
            raise SystemExit(f"not within {within:g} s: {what}")
        await asyncio.sleep(0.1)
    return time.monotonic() - started
