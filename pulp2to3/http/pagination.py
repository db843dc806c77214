"""Pulp's list pages: ``limit``/``offset`` in, ``{count, next, previous, results}`` out."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from pulp2to3.http.errors import APIError

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
# PostgreSQL's OFFSET is a bigint.
MAX_OFFSET = 2**63 - 1


@dataclasses.dataclass(frozen=True)
class PageRequest:
    limit: int
    offset: int


def _non_negative(request: web.Request, name: str, default: int, maximum: int | None) -> int:
    """The query parameter ``name`` as an integer from 0; above ``maximum`` (when given) is an
    error."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise APIError.field_errors({name: ["A valid integer is required."]}) from None
    if value < 0:
        raise APIError.field_errors({name: ["Ensure this value is greater than or equal to 0."]})
    if maximum is not None and value > maximum:
        raise APIError.field_errors(
            {name: [f"Ensure this value is less than or equal to {maximum}."]}
        )
    return value


def page_of(request: web.Request) -> PageRequest:
    # A limit above MAX_LIMIT is lowered to it, as Pulp does; an offset past a bigint is refused.
    limit = _non_negative(request, "limit", DEFAULT_LIMIT, None)
    if limit == 0:
        limit = DEFAULT_LIMIT
    offset = _non_negative(request, "offset", 0, MAX_OFFSET)
    return PageRequest(limit=min(limit, MAX_LIMIT), offset=offset)


def page_response(
    request: web.Request, page: PageRequest, count: int, results: Sequence[Any]
) -> dict[str, Any]:
    def link(offset: int) -> str:
        query = dict(request.query)
        query.update(limit=str(page.limit), offset=str(offset))
        if offset == 0:
            query.pop("offset")
        return str(request.url.with_query(query))

    following = page.offset + page.limit
    return {
        "count": count,
        "next": link(following) if following < count else None,
        "previous": link(max(page.offset - page.limit, 0)) if page.offset > 0 else None,
        "results": list(results),
    }
