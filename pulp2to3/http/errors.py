"""Errors in Pulp's (DRF's) JSON shape for every endpoint, and the middleware that ensures it.

``{"detail": "message"}``, or ``{"<field>": ["message", ...]}`` for field errors (400). Handlers
raise :class:`APIError`; anything aiohttp raises itself (unknown path, wrong method, body too
large, ...) is turned into the same shape; the database out of reach (or not answering in time)
is a 503 with ``Retry-After``; any other exception becomes a 500 whose traceback is logged and
never sent. Never an HTML page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import structlog
from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from pulp2to3.http.rendering import json_response
from pulp2to3.store import is_unavailable

log = structlog.get_logger(__name__)

NOT_FOUND = "Not found."
INTERNAL_ERROR = "Internal server error."
DATABASE_UNAVAILABLE = "The database is unavailable; try again shortly."
RETRY_AFTER = "5"  # seconds: a restart of PostgreSQL takes about that

# Headers of aiohttp's own error responses that describe its text body, not ours.
_BODY_HEADERS = frozenset({hdrs.CONTENT_TYPE, hdrs.CONTENT_LENGTH, hdrs.CONTENT_ENCODING})


def method_not_allowed(method: str) -> str:
    return f'Method "{method}" not allowed.'


class APIError(Exception):
    """An error answer: a ``detail`` message, or field errors (then the status is 400)."""

    def __init__(
        self,
        status: int,
        detail: str | Mapping[str, Sequence[str]],
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status, detail)
        self.status = status
        self.detail = detail
        self.headers = dict(headers or {})

    @classmethod
    def field_errors(cls, errors: Mapping[str, Sequence[str]]) -> APIError:
        return cls(400, errors)

    def response(self) -> web.Response:
        return error_response(self.status, self.detail, headers=self.headers)


def error_response(
    status: int,
    detail: str | Mapping[str, Sequence[str]],
    *,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """``{"detail": ...}`` for a message, the mapping itself for field errors."""
    if isinstance(detail, str):
        body: object = {"detail": detail}
    else:
        body = {field: list(messages) for field, messages in detail.items()}
    return json_response(body, status=status, headers=headers)


def _from_http_exception(request: web.Request, exc: web.HTTPException) -> web.Response:
    if exc.status == 404:
        detail = NOT_FOUND
    elif exc.status == 405:
        detail = method_not_allowed(request.method)
    else:
        detail = f"{exc.reason}."
    headers = {name: value for name, value in exc.headers.items() if name not in _BODY_HEADERS}
    return error_response(exc.status, detail, headers=headers)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except APIError as exc:
        return exc.response()
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise  # a redirect, or an error already in JSON
        return _from_http_exception(request, exc)
    except Exception as exc:
        if is_unavailable(exc) or isinstance(exc, TimeoutError):
            return error_response(
                503, DATABASE_UNAVAILABLE, headers={hdrs.RETRY_AFTER: RETRY_AFTER}
            )
        log.exception("http_unhandled_exception", method=request.method, path=request.path)
        return error_response(500, INTERNAL_ERROR)
