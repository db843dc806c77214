"""The API's connection limits over real sockets: the real app served as ``pulp2to3 api`` serves
it (``limits.serving``), clients that open connections and send nothing, half a request, or a
body that stalls; and 1,000 wrong passwords."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import aiohttp
import asyncpg
from aiohttp import web

from pulp2to3.http import app as http_app
from pulp2to3.http import limits
from pulp2to3.settings import load_settings
from tests.http_support import AUTH_HEADERS, PASSWORD, USER

STATUS = "/pulp/api/v3/status/"
# Long enough for any test host to read a whole request in, short enough to wait out.
SHORT = 0.5
# What a test waits at most for something to happen that should happen at once, or after SHORT.
PATIENCE = 15

Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def app_with(db_url: str, pool: asyncpg.Pool, read_timeout: float) -> web.Application:
    settings = load_settings(
        {
            "PULP2TO3_DATABASE_URL": db_url,
            "PULP2TO3_ADMIN_USER": USER,
            "PULP2TO3_ADMIN_PASSWORD": PASSWORD,
            "PULP2TO3_API_READ_TIMEOUT": str(read_timeout),
        }
    )
    return http_app.init(settings, pool)


@contextlib.asynccontextmanager
async def api(
    db_url: str, pool: asyncpg.Pool, *, read_timeout: float, max_connections: int = 1000
) -> AsyncIterator[limits.LimitedSite]:
    app = app_with(db_url, pool, read_timeout)
    async with limits.serving(
        app, "127.0.0.1", 0, read_timeout=read_timeout, max_connections=max_connections
    ) as site:
        yield site


async def until_closed(stream: Stream) -> bytes:
    """Everything the server sends until it closes the connection."""
    reader, writer = stream
    try:
        async with asyncio.timeout(PATIENCE):
            return await reader.read()
    finally:
        writer.close()


async def get_status(site: limits.LimitedSite) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{site.port}{STATUS}") as response,
    ):
        return response.status


async def connect(site: limits.LimitedSite, send: bytes = b"") -> Stream:
    reader, writer = await asyncio.open_connection("127.0.0.1", site.port)
    writer.write(send)
    await writer.drain()
    return reader, writer


async def test_idle_and_half_sent_connections_are_closed_after_the_read_timeout(
    db_url: str, pool: asyncpg.Pool
) -> None:
    async with api(db_url, pool, read_timeout=SHORT) as site:
        silent = await connect(site)
        half_headers = await connect(site, f"GET {STATUS} HTTP/1.1\r\nHost: x\r\n".encode())
        stalled_body = await connect(
            site,
            b"POST /pulp/api/v3/migration-plans/ HTTP/1.1\r\nHost: x\r\n"
            + f"Authorization: {AUTH_HEADERS['Authorization']}\r\n".encode()
            + b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"plan": ',
        )
        kept_alive = await connect(site, f"GET {STATUS} HTTP/1.1\r\nHost: x\r\n\r\n".encode())

        received = await asyncio.gather(
            *(until_closed(s) for s in (silent, half_headers, stalled_body, kept_alive))
        )

        assert received[:2] == [b"", b""]
        head, _, body = received[2].partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408 ")
        assert b"Connection: close" in head
        assert json.loads(body) == {"detail": "The request was not received in time."}
        assert received[3].startswith(b"HTTP/1.1 200 ")
        assert await get_status(site) == 200


async def test_over_the_cap_the_oldest_connections_close_and_requests_are_answered(
    db_url: str, pool: asyncpg.Pool
) -> None:
    """50 connections at most: 200 held open (half of them with half a request) make the
    oldest close; a request made then is answered, and so is one after."""
    async with api(db_url, pool, read_timeout=60, max_connections=50) as site:
        held = [await connect(site, b"GET / HTTP/1.1\r\n" if n % 2 else b"") for n in range(200)]
        assert await get_status(site) == 200

        closed = await asyncio.gather(*(until_closed(s) for s in held[:150]))

        assert closed == [b""] * 150
        assert site.open_connections <= 50
        assert await get_status(site) == 200
        for _, writer in held[150:]:
            writer.close()


async def test_a_request_being_answered_is_finished_before_its_connection_is_closed(
    db_url: str, pool: asyncpg.Pool
) -> None:
    """A connection whose request is being read when the cap is reached closes after its
    answer (here the 408 of its stalled body), not before."""
    async with api(db_url, pool, read_timeout=SHORT, max_connections=1) as site:
        stalled = await connect(
            site,
            b"POST /pulp/api/v3/migration-plans/ HTTP/1.1\r\nHost: x\r\n"
            + f"Authorization: {AUTH_HEADERS['Authorization']}\r\n".encode()
            + b"Expect: 100-continue\r\nContent-Length: 9\r\n\r\n{",
        )
        async with asyncio.timeout(PATIENCE):  # the request is being handled once this is sent
            assert await stalled[0].readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
        reply = asyncio.create_task(until_closed(stalled))
        assert await get_status(site) == 200  # the cap is reached: the POST is finishing
        assert (await reply).startswith(b"HTTP/1.1 408 ")


async def test_a_thousand_wrong_passwords_do_not_lock_out_the_right_one(
    db_url: str, pool: asyncpg.Pool
) -> None:
    async with api(db_url, pool, read_timeout=60) as site, aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{site.port}/pulp/api/v3/tasks/"
        wrong = [
            aiohttp.encode_basic_auth(USER, f"guess {n}")
            if n % 2
            else aiohttp.encode_basic_auth(f"u{n}", PASSWORD)
            for n in range(1000)
        ]
        for authorization in wrong:
            async with session.get(url, headers={"Authorization": authorization}) as response:
                assert response.status == 401
        async with session.get(url, headers=AUTH_HEADERS) as response:
            assert response.status == 200
