"""The decoded RPM objects (frozen dataclasses) as plain JSON data and back.

What a content batch decoded is kept in the database as JSON (``rpm_metadata.data``) and
rebuilt, with its own types, when a publication writes repodata from it. The fields' type hints
say how: nested dataclasses, ``tuple[X, ...]`` and fixed tuples, optional values, datetimes
(ISO 8601).
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Callable, Hashable
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


Build = Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


@functools.cache
def _builder(kind: Any) -> Build:
    """What makes a ``kind`` of its JSON data, worked out once per type (reading the type hints
    again for every object was a third of a publication's writer thread, in its advisories)."""
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        hints = typing.get_type_hints(kind)
        fields = [(field.name, _builder(hints[field.name])) for field in dataclasses.fields(kind)]
        return lambda value: kind(**{name: build(value[name]) for name, build in fields})
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            item = _builder(args[0])
            return lambda value: tuple(item(each) for each in value)
        items = [_builder(arg) for arg in args]
        return lambda value: tuple(build(each) for build, each in zip(items, value, strict=True))
    if origin in (typing.Union, types.UnionType):
        (present,) = [arg for arg in args if arg is not type(None)]
        build = _builder(present)
        return lambda value: None if value is None else build(value)
    if kind is datetime:
        return datetime.fromisoformat
    return _same


def load(kind: type[T], value: Any) -> T:
    """The ``kind`` object that :func:`plain` made ``value`` of."""
    built: T = _builder(typing.cast(Hashable, kind))(value)
    return built
