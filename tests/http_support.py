"""What the HTTP tests share: the admin's credentials, the app against the test database, and
test clients of it that send those credentials (or none)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from pulp2to3.http import app as http_app
from pulp2to3.settings import load_settings

USER, PASSWORD = "admin", "secret"
AUTH_HEADERS = {"Authorization": aiohttp.encode_basic_auth(USER, PASSWORD)}

Client = TestClient[web.Request, web.Application]


def app_for(db_url: str, pool: asyncpg.Pool, media_root: Path | None = None) -> web.Application:
    """The app, protected by ``USER``/``PASSWORD``, serving ``media_root`` if given."""
    values = {
        "PULP2TO3_DATABASE_URL": db_url,
        "PULP2TO3_ADMIN_USER": USER,
        "PULP2TO3_ADMIN_PASSWORD": PASSWORD,
    }
    if media_root is not None:
        values["PULP2TO3_MEDIA_ROOT"] = str(media_root)
    return http_app.init(load_settings(values), pool)


@contextlib.asynccontextmanager
async def client_for(app: web.Application, *, authenticated: bool) -> AsyncIterator[Client]:
    """A client of a running ``app``, sending the admin's credentials or none."""
    headers = AUTH_HEADERS if authenticated else None
    async with TestClient(TestServer(app), headers=headers) as client:
        yield client
