"""Typed keys of what the application holds for its handlers."""

from __future__ import annotations

import asyncpg
from aiohttp import web

from pulp2to3.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
# Created and closed by the caller (the CLI), shared by every handler.
POOL = web.AppKey("pool", asyncpg.Pool)
