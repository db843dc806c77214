"""The embedded PostgreSQL server used when no database URL is configured."""

from __future__ import annotations

import warnings
from pathlib import Path

import asyncpg
import structlog

with warnings.catch_warnings():
    # Without XDG_RUNTIME_DIR (root, CI) platformdirs warns, then uses /tmp/runtime-<uid>: fine.
    warnings.simplefilter("ignore", UserWarning)
    from pgserver.postgres_server import get_server

from pulp2to3.database import with_database

DATABASE_NAME = "pulp2to3"

log = structlog.get_logger(__name__)


def start_embedded_server(data_dir: Path) -> str:
    """Start (or attach to) the server in ``data_dir/postgres`` and return its admin URL.

    pgserver counts the processes using a data folder and stops the server when the last of
    them exits, so worker subprocesses that attach to it keep it alive while they run.
    """
    pgdata = data_dir / "postgres"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(pgdata, cleanup_mode="stop")
    log.info("embedded_postgres_started", pgdata=str(pgdata))
    return str(server.get_uri())


async def ensure_database(server_url: str, database: str = DATABASE_NAME) -> str:
    """Create ``database`` on the server if it is missing; return its URL."""
    connection = await asyncpg.connect(server_url)
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            quoted = '"' + database.replace('"', '""') + '"'
            await connection.execute(f"CREATE DATABASE {quoted}")
    finally:
        await connection.close()
    return with_database(server_url, database)
