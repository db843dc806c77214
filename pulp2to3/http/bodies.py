"""Reading requests: JSON objects only, unknown and read-only fields refused; no NUL
characters anywhere (PostgreSQL's text and jsonb cannot hold them)."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from pulp2to3.http.errors import NOT_FOUND, APIError

NULL_CHARACTERS = "Null characters are not allowed."


def _holds_null(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_null(key) or _holds_null(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_null(item) for item in value)
    return False


@web.middleware
async def null_character_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """No path holds a NUL (404); a query parameter with one is a field error (400)."""
    if "\x00" in request.path:
        raise APIError(404, NOT_FOUND)
    errors = {name: [NULL_CHARACTERS] for name, value in request.query.items() if "\x00" in value}
    if errors:
        raise APIError.field_errors(errors)
    return await handler(request)


async def json_object(
    request: web.Request, *, writable: Collection[str], read_only: Collection[str] = ()
) -> dict[str, Any]:
    """The body as a JSON object holding only ``writable`` fields (an empty body is ``{}``)."""
    raw = await request.read()
    if not raw.strip():
        return {}
    if request.content_type not in ("application/json", "application/octet-stream", ""):
        raise APIError(415, f'Unsupported media type "{request.content_type}" in request.')
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise APIError(400, f"JSON parse error - {exc}") from None
    if not isinstance(body, dict):
        raise APIError(400, "Invalid data. Expected a JSON object.")
    if _holds_null(body):
        raise APIError(400, NULL_CHARACTERS)
    errors: dict[str, list[str]] = {}
    for field in body:
        if field in read_only:
            errors[field] = ["This field is read-only."]
        elif field not in writable:
            errors[field] = ["Unexpected field."]
    if errors:
        raise APIError.field_errors(errors)
    return body
