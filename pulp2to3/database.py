"""The one door to PostgreSQL: connection pool set-up, named queries, schema installation."""

from __future__ import annotations

import json
import re
import socket
from importlib import resources
from typing import Any

import asyncpg
from asyncpg import exceptions as pg_errors

# A connection attempt that gets no answer within this fails (as the server being down does).
CONNECT_TIMEOUT = 5.0

# A link that goes down (a worker cut off) is noticed by both ends within about 10 s instead of
# the kernel's hours (idle) or 15 minutes (unacknowledged data): TCP keepalives and a send timeout,
# on the server's side for each session, on the client's on its socket. The server then ends the
# cut-off worker's transaction, whose locks would hold up the retry of its batch elsewhere; the
# worker sees its connection fail instead of waiting for ever for an answer that was lost. A live
# peer's kernel answers the probes, however busy the process.
KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_COUNT, USER_TIMEOUT_MS = 5, 2, 3, 10000
# Every statement here touches a batch's rows, yet the planner's estimates of joins over the
# growing tables can pass JIT's cost threshold: compiling then took longer than the statement
# (370 of 706 ms for a batch's remote artifacts). Hence "jit": "off".
SERVER_SETTINGS = {
    "tcp_keepalives_idle": str(KEEPALIVE_IDLE),
    "tcp_keepalives_interval": str(KEEPALIVE_INTERVAL),
    "tcp_keepalives_count": str(KEEPALIVE_COUNT),
    "tcp_user_timeout": str(USER_TIMEOUT_MS),
    "jit": "off",
}

# SQLSTATE class 08 (connection exception) and 57P01-57P03 (the server shuts down, crashed, or
# is not accepting connections yet): the database is out of reach, the request itself is fine.
# And asyncpg's InternalClientError ("another operation is in progress"): seen when the server
# shut down in the middle of a statement, on the pooled connection of that statement.
_UNAVAILABLE = (
    pg_errors.PostgresConnectionError,
    pg_errors.AdminShutdownError,
    pg_errors.CrashShutdownError,
    pg_errors.CannotConnectNowError,
    asyncpg.InternalClientError,
)

# One statement per `-- name --` line, optionally followed by `-- description` lines.
_QUERY_HEADER = re.compile(r"(?:\n|^)-- ([a-z0-9_]+) --\n(?:-- .*\n)*")


def parse_queries(text: str) -> dict[str, str]:
    """Split a named-query file into ``{name: sql}``; text before the first name is ignored."""
    parts = _QUERY_HEADER.split(text)
    names, bodies = parts[1::2], parts[2::2]
    queries: dict[str, str] = {}
    for name, body in zip(names, bodies, strict=True):
        if name in queries:
            raise ValueError(f"query {name!r} is defined twice")
        queries[name] = body.strip()
    return queries


def load_queries() -> dict[str, str]:
    """Every named query of every ``pulp2to3/sql/*.sql`` file (one file per concern)."""
    merged: dict[str, str] = {}
    for entry in sorted(resources.files("pulp2to3.sql").iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".sql"):
            continue
        for name, body in parse_queries(entry.read_text(encoding="utf-8")).items():
            if name in merged:
                raise ValueError(f"query {name!r} is defined in two files (again in {entry.name})")
            merged[name] = body
    return merged


queries = load_queries()


def schema_sql() -> str:
    return (resources.files("pulp2to3") / "schema.sql").read_text(encoding="utf-8")


def with_database(url: str, database: str) -> str:
    """The URL of another database on the same server (keeps ``?host=`` and other options)."""
    base, sep, options = url.partition("?")
    scheme, _, rest = base.partition("://")
    server = rest.split("/", 1)[0]
    return f"{scheme}://{server}/{database}{sep}{options}"


def _encode_jsonb(value: Any) -> bytes:
    # Binary jsonb is a version byte (1) followed by the JSON text. Binary (not text) is
    # needed because procrastinate sends jsonb inside an array of composites.
    return b"\x01" + json.dumps(value).encode()


def _decode_jsonb(data: bytes) -> Any:
    return json.loads(data[1:])


async def init_connection(connection: asyncpg.Connection) -> None:
    """Give every connection JSON codecs: Python objects in, Python objects out."""
    await connection.set_type_codec(
        "jsonb",
        schema="pg_catalog",
        encoder=_encode_jsonb,
        decoder=_decode_jsonb,
        format="binary",
    )
    await connection.set_type_codec(
        "json", schema="pg_catalog", encoder=json.dumps, decoder=json.loads, format="text"
    )


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means the database was out of reach: it, or an error it was raised from
    or while handling, is a connection-class error (never decided by message text)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, _UNAVAILABLE):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


async def _open(dsn: str, **options: Any) -> asyncpg.Connection:
    """``asyncpg.connect`` with a timeout; a socket that cannot reach the server (refused, reset,
    timed out) is reported as SQLSTATE 08001, so that it is told apart from file errors."""
    settings = SERVER_SETTINGS | (options.pop("server_settings", None) or {})
    try:
        connection = await asyncpg.connect(
            dsn, timeout=CONNECT_TIMEOUT, server_settings=settings, **options
        )
    except OSError as exc:
        raise pg_errors.ClientCannotConnectError(f"cannot reach PostgreSQL: {exc}") from exc
    _detect_dead_server(connection)
    return connection


def _detect_dead_server(connection: asyncpg.Connection) -> None:
    sock = connection._transport.get_extra_info("socket")
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, KEEPALIVE_IDLE)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, KEEPALIVE_INTERVAL)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, KEEPALIVE_COUNT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, USER_TIMEOUT_MS)


async def connect(dsn: str) -> asyncpg.Connection:
    """A single connection outside any pool, with the same codecs as the pool's."""
    connection = await _open(dsn)
    await init_connection(connection)
    return connection


async def create_pool(
    dsn: str, *, min_size: int = 1, max_size: int = 10, command_timeout: float | None = None
) -> asyncpg.Pool:
    """A pool whose connections have the JSON codecs; with ``min_size=0`` it is made without
    reaching the server (a process can start while the database is down)."""
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=init_connection,
        connect=_open,
        command_timeout=command_timeout,
    )
    assert pool is not None
    return pool
