"""A Procrastinate connector over asyncpg.

The API, the workers and the tasks share one asyncpg pool, and a job can be queued on the
caller's own connection (inside its transaction) through the ``*_with_connection`` methods,
which Procrastinate calls when a task is configured with ``connection=``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import asyncpg
import structlog
from procrastinate import connector, exceptions, manager

from pulp2to3.database import is_unavailable
from pulp2to3.queue.outage import Outage

log = structlog.get_logger(__name__)

# psycopg-style placeholders as Procrastinate writes them, and its escaped percent sign.
_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")
# Types whose parameters Procrastinate sometimes fills with numbers (`%(nb_seconds)s || 'x'`).
_TEXT_TYPES = frozenset({"text", "varchar", "bpchar", "name"})
_KEY_DETAIL = re.compile(r"Key \((?P<column>.*?)\)=\((?P<value>.*?)\)")

RECONNECT_DELAY = 1.0


@functools.lru_cache(maxsize=256)
def convert_query(query: str) -> tuple[str, tuple[str, ...]]:
    """Turn ``%(name)s`` placeholders into ``$n`` (a repeated name reuses its number).

    Returns the new text and the argument names in ``$n`` order.
    """
    names: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return "%"
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _PLACEHOLDER.sub(replace, query), tuple(names)


def _translate(exc: BaseException) -> exceptions.ConnectorException:
    """Map a driver error to Procrastinate's, by SQLSTATE class and constraint name."""
    if isinstance(exc, asyncpg.UniqueViolationError):
        queueing_lock = None
        if exc.constraint_name == manager.QUEUEING_LOCK_CONSTRAINT:
            # The key value is only in the structured DETAIL field, as psycopg's wrapper reads it.
            match = _KEY_DETAIL.search(exc.detail or "")
            if match and match.group("column") == "queueing_lock":
                queueing_lock = match.group("value")
        return exceptions.UniqueViolation(
            constraint_name=exc.constraint_name, queueing_lock=queueing_lock
        )
    return exceptions.ConnectorException(str(exc))


# InternalClientError ("another operation is in progress") is what a pooled connection broken
# mid-statement by a server shutdown raises at its next use: the worker must see it as the
# database being away, as it sees the others, not as an error that ends its run loop.
_DRIVER_ERRORS = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
)


@contextlib.contextmanager
def _wrap_exceptions() -> Any:
    try:
        yield
    except _DRIVER_ERRORS as exc:
        raise _translate(exc) from exc


PoolFactory = Callable[[], Awaitable[asyncpg.Pool]]
ConnectionFactory = Callable[[], Awaitable[asyncpg.Connection]]


class AsyncpgConnector(connector.BaseAsyncConnector):
    """Procrastinate's connector interface implemented with asyncpg.

    ``pool_factory`` makes the pool when the app is opened without one; ``connect`` makes the
    dedicated connection that LISTENs (asyncpg listeners must not live on pooled connections).
    ``outage`` is the process's view of the database's reachability.
    """

    def __init__(self, *, pool_factory: PoolFactory, connect: ConnectionFactory) -> None:
        self._pool_factory = pool_factory
        self._connect = connect
        self._pool: asyncpg.Pool | None = None
        self._pool_is_ours = False
        # Per query text: the SQL type name of each parameter, learnt once.
        self._param_types: dict[str, tuple[str, ...]] = {}
        self.outage = Outage()

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise exceptions.AppNotOpen
        return self._pool

    def get_sync_connector(self) -> connector.BaseConnector:
        return self

    async def open_async(self, pool: asyncpg.Pool | None = None) -> None:
        if self._pool is not None:
            return
        if pool is not None:
            self._pool, self._pool_is_ours = pool, False
            return
        with _wrap_exceptions():
            self._pool = await self._pool_factory()
        self._pool_is_ours = True

    async def close_async(self) -> None:
        if self._pool is not None and self._pool_is_ours:
            await self._pool.close()
        self._pool = None

    @contextlib.asynccontextmanager
    async def _connection(
        self, connection: asyncpg.Connection | None
    ) -> AsyncIterator[asyncpg.Connection]:
        if connection is not None:
            yield connection
            return
        async with self.pool.acquire() as acquired:
            yield acquired

    async def _arguments(
        self, connection: asyncpg.Connection, query: str, arguments: dict[str, Any]
    ) -> tuple[str, list[Any]]:
        sql, names = convert_query(query)
        values = [arguments[name] for name in names]
        if any(isinstance(value, int | float) for value in values):
            types = self._param_types.get(sql)
            if types is None:
                statement = await connection.prepare(sql)
                types = tuple(param.name for param in statement.get_parameters())
                self._param_types[sql] = types
            values = [
                str(value)
                if isinstance(value, int | float)
                and not isinstance(value, bool)
                and kind in _TEXT_TYPES
                else value
                for value, kind in zip(values, types, strict=True)
            ]
        return sql, values

    async def _run(
        self,
        connection: asyncpg.Connection | None,
        query: str,
        arguments: dict[str, Any],
        fetch: str,
    ) -> Any:
        with _wrap_exceptions():
            async with self._connection(connection) as conn:
                if not arguments:
                    sql, _ = convert_query(query)
                    if fetch == "none":
                        # Simple-query protocol: several statements (the schema) are allowed.
                        await conn.execute(sql)
                        return None
                    values: list[Any] = []
                else:
                    sql, values = await self._arguments(conn, query, arguments)
                if fetch == "none":
                    await conn.execute(sql, *values)
                    return None
                if fetch == "one":
                    return await conn.fetchrow(sql, *values)
                return await conn.fetch(sql, *values)

    async def execute_query_async(self, query: str, **arguments: Any) -> None:
        await self._run(None, query, arguments, "none")

    async def execute_query_one_async(self, query: str, **arguments: Any) -> dict[str, Any]:
        return await self.execute_query_one_async_with_connection(None, query, **arguments)

    async def execute_query_all_async(self, query: str, **arguments: Any) -> list[dict[str, Any]]:
        return await self.execute_query_all_async_with_connection(None, query, **arguments)

    async def execute_query_one_async_with_connection(
        self, connection: asyncpg.Connection | None, query: str, **arguments: Any
    ) -> dict[str, Any]:
        row = await self._run(connection, query, arguments, "one")
        if row is None:
            raise exceptions.NoResult
        return dict(row)

    async def execute_query_all_async_with_connection(
        self, connection: asyncpg.Connection | None, query: str, **arguments: Any
    ) -> list[dict[str, Any]]:
        rows = await self._run(connection, query, arguments, "all")
        return [dict(row) for row in rows]

    async def listen_notify(
        self, on_notification: connector.Notify, channels: Iterable[str]
    ) -> None:
        """Listen on ``channels`` for ever, reconnecting when the connection drops."""
        channel_list = list(channels)
        while True:
            try:
                await self._listen_once(on_notification, channel_list)
            except _DRIVER_ERRORS as exc:
                if is_unavailable(exc):
                    self.outage.lost(exc)
                else:
                    log.warning("listen_connection_lost", error=str(exc))
            await asyncio.sleep(RECONNECT_DELAY)

    async def _listen_once(self, on_notification: connector.Notify, channels: list[str]) -> None:
        """Hold one listening connection until it dies; deliver notifications in order."""
        inbox: asyncio.Queue[tuple[str, str] | None] = asyncio.Queue()

        def received(_conn: object, _pid: int, channel: str, payload: str) -> None:
            inbox.put_nowait((channel, payload))

        def terminated(_conn: object) -> None:
            inbox.put_nowait(None)

        connection = await self._connect()
        self.outage.regained()
        try:
            connection.add_termination_listener(terminated)
            for channel in channels:
                await connection.add_listener(channel, received)
            log.debug("listening", channels=channels)
            while True:
                try:
                    item = await asyncio.wait_for(inbox.get(), connector.LISTEN_TIMEOUT)
                except TimeoutError:
                    # A quiet connection may be dead without asyncpg knowing: probe it.
                    await connection.execute("SELECT 1")
                    continue
                if item is None:
                    return
                channel, payload = item
                await on_notification(channel=channel, payload=payload)
        finally:
            if not connection.is_closed():
                connection.terminate()
