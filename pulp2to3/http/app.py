"""The REST API's aiohttp application (``pulp2to3 api`` serves it)."""

from __future__ import annotations

import asyncpg
from aiohttp import web

from pulp2to3.http import (
    content_app,
    dashboard,
    metrics,
    migrations,
    openapi,
    state,
    status,
    task_groups,
    views,
)
from pulp2to3.http.auth import Credentials, auth_middleware
from pulp2to3.http.bodies import null_character_middleware
from pulp2to3.http.errors import error_middleware
from pulp2to3.http.limits import body_timeout_middleware
from pulp2to3.settings import Settings

API_ROOT = "/pulp/api/v3/"
# Seconds a statement of the API may take before the request is answered 503 (a database that
# vanished without closing its sockets must not hold requests for the TCP timeout).
COMMAND_TIMEOUT = 30.0


def init(settings: Settings, pool: asyncpg.Pool) -> web.Application:
    """Build the application; ``pool`` belongs to the caller, which closes it after shutdown."""
    credentials = None
    if settings.admin_password is not None:  # None only with --insecure-dev (the CLI checks)
        credentials = Credentials.hashed(settings.admin_user, settings.admin_password)
    app = web.Application(
        middlewares=[
            error_middleware,
            auth_middleware(credentials),
            body_timeout_middleware(settings.api_read_timeout),
            null_character_middleware,
        ]
    )
    app[state.SETTINGS] = settings
    app[state.POOL] = pool
    app.router.add_get(f"{API_ROOT}status/", status.get_status)
    openapi.add_routes(app)
    views.add_routes(app)
    content_app.add_routes(app)
    migrations.add_routes(app)
    task_groups.add_routes(app)
    metrics.add_routes(app)
    dashboard.add_routes(app)
    return app
