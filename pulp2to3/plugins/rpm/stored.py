"""The decoded RPM objects (frozen dataclasses) as plain JSON data and back.

What a content batch decoded is kept in the database as JSON (``rpm_metadata.data``) and
rebuilt, with its own types, when a publication writes repodata from it. The fields' type hints
say how: nested dataclasses, ``tuple[X, ...]`` and fixed tuples, optional values, datetimes
(ISO 8601).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import datetime
from typing import Any, TypeVar

T = TypeVar("T")


def plain(value: Any) -> Any:
    """``value`` as JSON data: dataclasses as objects, tuples as lists, datetimes as text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: plain(getattr(value, field.name)) for field in dataclasses.fields(value)
        }
    if isinstance(value, tuple | list):
        return [plain(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _build(kind: Any, value: Any) -> Any:
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        hints = typing.get_type_hints(kind)
        return kind(
            **{
                field.name: _build(hints[field.name], value[field.name])
                for field in dataclasses.fields(kind)
            }
        )
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_build(args[0], item) for item in value)
        return tuple(_build(arg, item) for arg, item in zip(args, value, strict=True))
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        (present,) = [arg for arg in args if arg is not type(None)]
        return _build(present, value)
    if kind is datetime:
        return datetime.fromisoformat(value)
    return value


def load(kind: type[T], value: Any) -> T:
    """The ``kind`` object that :func:`plain` made ``value`` of."""
    built: T = _build(kind, value)
    return built
