"""Limits on the API's connections, so that clients that hold them cannot stop it answering.

- A connection that keeps the API waiting for a request (nothing sent, headers never finished)
  is closed ``read_timeout`` seconds after it opened or after its last response: aiohttp's
  keep-alive timeout, which it also applies to a new connection (``handler_args``).
- A request body must arrive within ``read_timeout`` (``body_timeout_middleware``); a stalled
  one is answered 408 and its connection closed.
- Beyond ``max_connections`` open connections, each new one makes the oldest close: at once
  when it is waiting for a request, after its response otherwise. When none can be closed that
  way (as many are finishing a response already), new ones are answered 503 and closed
  (``LimitedSite``). So at most twice the cap are open, plus those accepted in one turn of the
  event loop; ``fit_open_files`` raises the process's open-files limit for them (up to its
  hard limit), or lowers the cap: running out of file handles would stop the API accepting
  anything, and make asyncio log every failed accept.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
from collections.abc import AsyncIterator
from typing import Any

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from aiohttp.web_protocol import RequestHandler

from pulp2to3.http.errors import error_response

log = structlog.get_logger(__name__)

REQUEST_TIMEOUT = "The request was not received in time."
TOO_MANY_CONNECTIONS = "Too many connections: try again shortly."

# Files the API needs besides its client connections: the database pool, files being served
# by the content app, the listening socket, logs, the event loop's own.
RESERVED_FILES = 100
# Connections accepted in one turn of the event loop (asyncio accepts up to the backlog), before
# any of them can be refused and closed.
BACKLOG = 128
_RETRY_AFTER_SECONDS = 1
_AIOHTTP_LINGERING_TIME = 10.0  # its default


def handler_args(read_timeout: float) -> dict[str, Any]:
    """The ``web.AppRunner`` arguments that close connections idle for ``read_timeout``; the
    unread rest of a body answered early (401, 408, 413) is not waited for longer either."""
    return {
        "keepalive_timeout": read_timeout,
        "lingering_time": min(_AIOHTTP_LINGERING_TIME, read_timeout),
    }


def body_timeout_middleware(read_timeout: float) -> Middleware:
    """Read the whole body (at most the app's ``client_max_size``) within ``read_timeout``
    before the handler runs, which then finds it read."""

    @web.middleware
    async def read_body_in_time(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.body_exists:
            try:
                async with asyncio.timeout(read_timeout):
                    await request.read()
            except TimeoutError:
                log.warning("api_request_body_timeout", path=request.path, seconds=read_timeout)
                response = error_response(408, REQUEST_TIMEOUT)
                response.force_close()
                return response
        return await handler(request)

    return read_body_in_time


def fit_open_files(max_connections: int) -> int:
    """The cap to use: ``max_connections`` if the open-files limit allows twice as many
    connections (raised up to the hard limit if needed), else as many as it allows."""
    needed = 2 * max_connections + BACKLOG + RESERVED_FILES
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        soft = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return max_connections
    cap = max(1, (soft - BACKLOG - RESERVED_FILES) // 2)
    log.warning("api_connection_cap_lowered", max_connections=cap, open_files_limit=soft)
    return cap


def _busy_response() -> bytes:
    response = error_response(503, TOO_MANY_CONNECTIONS)
    assert isinstance(response.body, bytes)
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        f"Content-Type: {response.content_type}\r\n"
        f"Content-Length: {len(response.body)}\r\n"
        f"Retry-After: {_RETRY_AFTER_SECONDS}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + response.body


class _Refused(asyncio.Protocol):
    """A connection over the limit: told so at once, then closed (what it sends is ignored)."""

    def __init__(self, answer: bytes) -> None:
        self._answer = answer

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(self._answer)
        transport.close()


class _Connection(RequestHandler):
    """aiohttp's handler of one connection, which tells the site when the connection ends."""

    def __init__(self, site: LimitedSite, manager: web.Server, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self.site = site
        self.evicted = False
        self.finishing = False  # evicted while handling a request: closes after its response

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if self.evicted:  # before it started, by a connection accepted in the same loop turn
            self.force_close()

    def connection_lost(self, exc: BaseException | None) -> None:
        super().connection_lost(exc)
        self.site.forget(self)

    def evict(self) -> None:
        """Close now when waiting for a request (for its first byte, or the rest of its
        headers), or as soon as it starts; after the response otherwise (``finishing``)."""
        self.evicted = True
        if self.transport is None:
            return
        # aiohttp's own state: no request being handled, none received whole.
        if not self._request_in_progress and not self._messages:
            self.force_close()
        else:
            self.finishing = True
            self.close()


class LimitedSite(web.BaseSite):
    """``web.TCPSite`` with a cap on open connections (see the module's description)."""

    def __init__(
        self,
        runner: web.AppRunner,
        host: str,
        port: int,
        *,
        max_connections: int,
        handler_args: dict[str, Any],
    ) -> None:
        super().__init__(runner)
        self._host, self._port = host, port
        self.max_connections = max_connections
        self._handler_args = handler_args
        self._open: dict[_Connection, None] = {}  # not evicted, oldest first
        self._finishing = 0  # evicted, closing after their response
        self._busy = _busy_response()

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    @property
    def port(self) -> int:
        return self._port

    @property
    def open_connections(self) -> int:
        """Connections open and not asked to close."""
        return len(self._open)

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._protocol, self._host, self._port, backlog=BACKLOG, reuse_address=True
        )
        self._port = self._server.sockets[0].getsockname()[1]  # the one chosen, for port 0

    def _protocol(self) -> asyncio.BaseProtocol:
        """A new connection's protocol: aiohttp's handler, or ``_Refused`` over the limit."""
        if len(self._open) >= self.max_connections:
            if self._finishing >= self.max_connections:
                log.warning("api_connection_refused", finishing=self._finishing)
                return _Refused(self._busy)
            oldest = next(iter(self._open))
            del self._open[oldest]
            oldest.evict()
            self._finishing += oldest.finishing
            log.warning("api_connection_limit_reached", max_connections=self.max_connections)
        server = self._runner.server
        assert server is not None
        connection = _Connection(
            self, server, loop=asyncio.get_running_loop(), **self._handler_args
        )
        self._open[connection] = None
        return connection

    def forget(self, connection: _Connection) -> None:
        self._open.pop(connection, None)
        self._finishing -= connection.finishing


@contextlib.asynccontextmanager
async def serving(
    app: web.Application, host: str, port: int, *, read_timeout: float, max_connections: int
) -> AsyncIterator[LimitedSite]:
    """``app`` served on ``host:port`` (0: any free port) with these limits until exit."""
    args = handler_args(read_timeout)
    runner = web.AppRunner(app, **args)
    await runner.setup()
    try:
        site = LimitedSite(runner, host, port, max_connections=max_connections, handler_args=args)
        await site.start()
        yield site
    finally:
        await runner.cleanup()
