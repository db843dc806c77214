"""Reading request bodies: JSON objects only, unknown and read-only fields refused."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from aiohttp import web

from pulp2to3.http.errors import APIError


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
    errors: dict[str, list[str]] = {}
    for field in body:
        if field in read_only:
            errors[field] = ["This field is read-only."]
        elif field not in writable:
            errors[field] = ["Unexpected field."]
    if errors:
        raise APIError.field_errors(errors)
    return body
