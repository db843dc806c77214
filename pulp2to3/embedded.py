"""The embedded PostgreSQL server used when no database URL is configured."""

from __future__ import annotations

import atexit
import os
import warnings
from pathlib import Path

import asyncpg
import structlog

with warnings.catch_warnings():
    # Without XDG_RUNTIME_DIR (root, CI) platformdirs warns, then uses /tmp/runtime-<uid>: fine.
    warnings.simplefilter("ignore", UserWarning)
    from pgserver.postgres_server import PostgresServer, get_server
    from pgserver.utils import DiskList

from pulp2to3.database import with_database

DATABASE_NAME = "pulp2to3"
OWNERS_FILE = ".handle_pids.json"  # pgserver's list of the processes using the server

log = structlog.get_logger(__name__)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def forget_dead_owners(pgdata: Path) -> list[int]:
    """Drop the processes that died without saying so from the server's owners; return them.

    pgserver lists the processes using the server in a file and stops it when the last one
    listed exits. A process killed before its exit handlers ran (SIGKILL, a crash) stays
    listed, and the server would then never be stopped.
    """
    owners = DiskList(pgdata / OWNERS_FILE)
    with PostgresServer._lock:
        listed = owners.get()
        dead = [pid for pid in listed if not _alive(pid)]
        if dead:
            owners.put([pid for pid in listed if pid not in dead])
    return dead


def server_folder(data_dir: Path) -> Path:
    """The embedded server's data folder (PGDATA) under PULP2TO3_DATA_DIR."""
    return (data_dir / "postgres").resolve()


def start_embedded_server(data_dir: Path) -> str:
    """Start (or attach to) the server in ``data_dir/postgres`` and return its admin URL.

    pgserver counts the processes using a data folder and stops the server when the last of
    them exits (our exit handler runs first and forgets owners that died meanwhile).
    """
    pgdata = server_folder(data_dir)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    if pgdata.is_dir():
        dead = forget_dead_owners(pgdata)
        if dead:
            log.info("embedded_postgres_dead_owners_forgotten", pids=dead)
    server = get_server(pgdata, cleanup_mode="stop")
    atexit.register(forget_dead_owners, pgdata)  # runs before pgserver's own (last in, first)
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
