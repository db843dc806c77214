"""Query parameters as pulpcore's lists take them: declared filters (``name``, ``name__in``,
``name__lt`` ...), ``ordering``, and ``fields``/``exclude_fields`` to shape what is answered.

A list that declares its filters refuses any other parameter (400), as pulpcore does, rather
than answer as if it were not there.
"""

from __future__ import annotations

import dataclasses
import datetime
import uuid
from collections.abc import Callable, Collection, Sequence
from typing import Any, TypeVar

import yarl
from aiohttp import web

from pulp2to3.http.errors import APIError
from pulp2to3.store.lists import Condition, Op, Order

T = TypeVar("T")

PAGING = frozenset({"limit", "offset"})
SHAPING = frozenset({"fields", "exclude_fields"})
TRUE = frozenset({"true", "True", "1"})
FALSE = frozenset({"false", "False", "0"})


class InvalidValue(ValueError):
    """A filter value that cannot be what the filter compares; its message is the answer's."""


def boolean(raw: str) -> bool:
    if raw in TRUE:
        return True
    if raw in FALSE:
        return False
    raise InvalidValue("Must be a valid boolean.")


def text(raw: str) -> str:
    return raw


def timestamp(raw: str) -> int:
    """Seconds since the epoch, given as such or as an ISO 8601 date and time (which the
    generated client sends for ``pulp2_last_updated``)."""
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        return int(moment(raw).timestamp())
    except InvalidValue:
        raise InvalidValue("Enter a whole number or an ISO 8601 date and time.") from None


def moment(raw: str) -> datetime.datetime:
    """An ISO 8601 date and time (UTC unless it says)."""
    try:
        parsed = datetime.datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidValue("Enter a valid date/time.") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=datetime.UTC)


MAX_JOB_ID = 2**63 - 1  # a task's id is its job's, a bigint


def task_id(raw: str) -> int:
    """The job id at the end of a task's href (or full URL), or the id itself."""
    last = yarl.URL(raw).path.rstrip("/").rsplit("/", 1)[-1]
    if not last.isdigit() or int(last) > MAX_JOB_ID:
        raise InvalidValue("Invalid hyperlink - No URL match.")
    return int(last)


@dataclasses.dataclass(frozen=True)
class Choice:
    """One of ``values``, as pulpcore's choice filters take them."""

    values: tuple[str, ...]

    def __call__(self, raw: str) -> str:
        if raw not in self.values:
            raise InvalidValue(
                f'Select a valid choice. "{raw}" is not one of the available choices.'
            )
        return raw


def uuid_of_href(raw: str) -> uuid.UUID:
    """The UUID at the end of an href (or full URL) of an object, or the UUID itself."""
    try:
        return uuid.UUID(yarl.URL(raw).path.rstrip("/").rsplit("/", 1)[-1])
    except ValueError:
        raise InvalidValue("Invalid hyperlink - No URL match.") from None


@dataclasses.dataclass(frozen=True)
class Filter:
    field: str
    ops: tuple[Op, ...]
    parse: Callable[[str], Any]

    def parameter(self, op: Op) -> str:
        return self.field if op in (Op.EQ, Op.ALL) else f"{self.field}__{op.value}"


def _values(raw: str) -> list[str]:
    return [value for value in raw.split(",") if value]


def _condition(declared: Filter, op: Op, name: str, raw: str) -> Condition:
    try:
        if op is Op.ISNULL:
            return Condition(declared.field, op, boolean(raw))
        if op in (Op.IN, Op.ALL):
            values = _values(raw)
            return Condition(declared.field, op, [declared.parse(value) for value in values])
        if op is Op.RANGE:
            bounds = _values(raw)
            if len(bounds) != 2:
                raise InvalidValue("Give two values separated by a comma: low,high.")
            return Condition(declared.field, op, tuple(declared.parse(value) for value in bounds))
        return Condition(declared.field, op, declared.parse(raw))
    except InvalidValue as exc:
        raise APIError.field_errors({name: [str(exc)]}) from None


def _names(request: web.Request, parameter: str) -> list[str]:
    """A list parameter given comma-separated, repeated, or both."""
    return [name for raw in request.query.getall(parameter, []) for name in _values(raw)]


def _ordering(request: web.Request, orderable: Collection[str]) -> list[Order]:
    ordering = []
    for name in _names(request, "ordering"):
        field = name.removeprefix("-")
        if field not in orderable:
            choices = ", ".join(sorted(orderable))
            raise APIError.field_errors(
                {
                    "ordering": [
                        f'Select a valid choice. "{name}" is not one of the available'
                        f" choices ({choices}, each optionally preceded by -)."
                    ]
                }
            )
        ordering.append(Order(field, descending=name.startswith("-")))
    return ordering


def list_query(
    request: web.Request, declared: Sequence[Filter], orderable: Collection[str]
) -> tuple[list[Condition], list[Order]]:
    """The conditions and the order a list request asks for; 400 for any parameter the list
    does not declare, and for a value its filter cannot take. Empty values filter nothing."""
    by_parameter = {f.parameter(op): (f, op) for f in declared for op in f.ops}
    unknown = sorted(set(request.query) - set(by_parameter) - PAGING - SHAPING - {"ordering"})
    if unknown:
        known = ", ".join(sorted(by_parameter))
        raise APIError.field_errors(
            {name: [f"Unknown filter. The filters of this list: {known}."] for name in unknown}
        )
    conditions = []
    for name, (field, op) in by_parameter.items():
        # A list is comma-separated, repeated, or both; another value is given once.
        many = op in (Op.IN, Op.ALL)
        raw = ",".join(request.query.getall(name, [])) if many else request.query.get(name)
        if raw:
            conditions.append(_condition(field, op, name, raw))
    return conditions, _ordering(request, orderable)


def shaped(
    request: web.Request, render: Callable[[T], dict[str, Any]]
) -> Callable[[T], dict[str, Any]]:
    """``render``, keeping only the ``fields`` asked for and dropping the ``exclude_fields``;
    a name the object does not have is a field error."""
    fields = _names(request, "fields")
    excluded = _names(request, "exclude_fields")

    def shape(item: T) -> dict[str, Any]:
        body = render(item)
        for parameter, names in (("fields", fields), ("exclude_fields", excluded)):
            unknown = [name for name in names if name not in body]
            if unknown:
                message = f"Unknown field(s): {', '.join(unknown)}."
                raise APIError.field_errors({parameter: [message]})
        return {
            name: value
            for name, value in body.items()
            if (not fields or name in fields) and name not in excluded
        }

    return shape
