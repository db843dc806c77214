"""The REST API's aiohttp application (``pulp2to3 api`` serves it)."""

from __future__ import annotations

import asyncpg
from aiohttp import web

from pulp2to3.http import migrations, state, status
from pulp2to3.http.errors import error_middleware
from pulp2to3.settings import Settings

API_ROOT = "/pulp/api/v3/"


def init(settings: Settings, pool: asyncpg.Pool) -> web.Application:
    """Build the application; ``pool`` belongs to the caller, which closes it after shutdown."""
    app = web.Application(middlewares=[error_middleware])
    app[state.SETTINGS] = settings
    app[state.POOL] = pool
    app.router.add_get(f"{API_ROOT}status/", status.get_status)
    migrations.add_routes(app)
    return app
