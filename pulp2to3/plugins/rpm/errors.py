"""The one error every RPM decoder raises for a unit it cannot take."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class InvalidRpmUnit(ValueError):
    """A Pulp 2 unit that cannot become Pulp 3 content: a per-unit problem, named in the report.

    ``content_type`` and ``unit_id`` say which unit, ``reason`` what is wrong with it.
    """

    def __init__(self, content_type: str, unit_id: str, reason: str) -> None:
        super().__init__(f"{content_type} unit {unit_id}: {reason}")
        self.content_type = content_type
        self.unit_id = unit_id
        self.reason = reason

    @classmethod
    def of(cls, fields: Mapping[str, Any], content_type: str, reason: str) -> InvalidRpmUnit:
        """The error for the unit whose document is ``fields``."""
        return cls(content_type, str(fields.get("_id", "?")), reason)


def text_field(fields: Mapping[str, Any], name: str, content_type: str) -> str:
    """``fields[name]`` when it is a non-empty string; the unit's error otherwise."""
    value = fields.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidRpmUnit.of(fields, content_type, f"{name} {value!r} is not a non-empty string")
    return value


def optional_text(fields: Mapping[str, Any], name: str) -> str:
    """``fields[name]`` as text, ``""`` when absent or null."""
    value = fields.get(name)
    return "" if value is None else str(value)
