"""How values look in the API's JSON: one content type, one timestamp format."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from aiohttp import web


def json_response(
    body: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A JSON response (``Content-Type: application/json``)."""
    return web.json_response(body, status=status, headers=headers)


def rfc3339(moment: datetime.datetime) -> str:
    """RFC 3339 in UTC with microseconds and a ``Z``, as Pulp writes ``pulp_created``."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no defined UTC time")
    utc = moment.astimezone(datetime.UTC)
    return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
