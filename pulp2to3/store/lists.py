"""Lists filtered and ordered as pulpcore's and pulp-2to3-migration's APIs allowed: any
combination of conditions on named fields, and any order of them.

The statements are put together here from fixed pieces: a field name picks a column expression
of a :class:`Listing` (:data:`PULP2_CONTENT`, :data:`PULP2_REPOSITORIES`, ``tasks.TASKS``; an
unknown one is a ``KeyError``, a bug of the caller), and every value is a query parameter.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

import asyncpg

from pulp2to3.database import queries
from pulp2to3.store.views import Page, Pulp2Content, Pulp2Repository, snapshot

T = TypeVar("T")


class Op(enum.Enum):
    EQ = "exact"
    IN = "in"
    LT = "lt"
    LTE = "lte"
    GT = "gt"
    GTE = "gte"
    RANGE = "range"
    NE = "ne"
    CONTAINS = "contains"
    ISNULL = "isnull"  # its value is a boolean
    ALL = "all"  # a column of many values holding every one given (a list of them)


_COMPARISONS = {Op.EQ: "=", Op.LT: "<", Op.LTE: "<=", Op.GT: ">", Op.GTE: ">=", Op.NE: "<>"}


@dataclasses.dataclass(frozen=True)
class Condition:
    field: str
    op: Op
    value: Any  # a list for IN, a (low, high) pair for RANGE


@dataclasses.dataclass(frozen=True)
class Order:
    field: str
    descending: bool = False


class Column(NamedTuple):
    expression: str  # over the table's alias ``t``
    pg_type: str  # what a value compared with it is cast to
    many: bool = False  # an array: ``=`` is "holds", ``in`` is "holds one of"


@dataclasses.dataclass(frozen=True)
class Listing:
    table: str  # with its alias ``t``
    columns: Mapping[str, Column]
    get: str  # the statement giving the rows of some keys ($1), each with its ``key``
    key: str = "pulp_id"  # the column of ``t`` that names a row
    tiebreak: str = "t.id"  # what orders rows that the ordering asked for does not


_CONTENT_IN_PLAN = """EXISTS (SELECT FROM pulp2_repo_content AS rc
                  JOIN pulp2_repository AS r ON r.pulp2_repo_id = rc.pulp2_repo_id
                 WHERE rc.pulp2_unit_id = t.pulp2_id AND NOT r.not_in_plan)"""

# Both tables have these columns.
_COMMON = {
    "pulp_created": Column("t.created_at", "timestamptz"),
    "is_migrated": Column("t.is_migrated", "boolean"),
}

PULP2_CONTENT = Listing(
    table="pulp2_content AS t",
    columns={
        **_COMMON,
        "pulp2_id": Column("t.pulp2_id", "text"),
        "pulp2_content_type_id": Column("t.content_type", "text"),
        "pulp2_last_updated": Column("t.last_updated", "bigint"),
        "pulp2_storage_path": Column("t.storage_path", "text"),
        "downloaded": Column("t.downloaded", "boolean"),
        "not_in_plan": Column(f"(NOT {_CONTENT_IN_PLAN})", "boolean"),
        "pulp3_content": Column(
            "(SELECT c.pulp_id FROM content AS c WHERE c.id = t.pulp3_content_id)", "uuid"
        ),
    },
    get=queries["view_get_pulp2_content"],
)

_REPOSITORY_TEXT = ("pulp2_object_id", "pulp2_repo_id", "pulp2_repo_type")

PULP2_REPOSITORIES = Listing(
    table="pulp2_repository AS t",
    columns={
        **_COMMON,
        **{name: Column(f"t.{name}", "text") for name in _REPOSITORY_TEXT},
        "not_in_plan": Column("t.not_in_plan", "boolean"),
    },
    get=queries["view_get_pulp2_repositories"],
)


def _where(listing: Listing, conditions: Sequence[Condition]) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    arguments: list[Any] = []

    def argument(value: Any, pg_type: str) -> str:
        arguments.append(value)
        return f"${len(arguments)}::{pg_type}"

    for condition in conditions:
        column = listing.columns[condition.field]
        expression = column.expression
        if condition.op is Op.ISNULL:
            clauses.append(f"({expression} IS NULL) = {argument(condition.value, 'boolean')}")
        elif condition.op is Op.CONTAINS:
            clauses.append(f"strpos({expression}, {argument(condition.value, 'text')}) > 0")
        elif condition.op is Op.ALL:
            values = argument(list(condition.value), f"{column.pg_type}[]")
            clauses.append(f"{expression} @> {values}")
        elif condition.op is Op.IN:
            values = argument(list(condition.value), f"{column.pg_type}[]")
            holds = f"{expression} && {values}" if column.many else f"{expression} = ANY({values})"
            clauses.append(holds)
        elif condition.op is Op.RANGE:
            low, high = condition.value
            clauses.append(
                f"{expression} BETWEEN {argument(low, column.pg_type)}"
                f" AND {argument(high, column.pg_type)}"
            )
        elif column.many:
            clauses.append(f"{argument(condition.value, column.pg_type)} = ANY({expression})")
        else:
            value = argument(condition.value, column.pg_type)
            clauses.append(f"{expression} {_COMPARISONS[condition.op]} {value}")
    return " AND ".join(clauses) or "true", arguments


def _order_by(listing: Listing, ordering: Sequence[Order]) -> str:
    keys = [
        f"{listing.columns[order.field].expression} {'DESC' if order.descending else 'ASC'}"
        for order in ordering
    ]
    return ", ".join([*keys, listing.tiebreak])


async def read_list(
    connection: asyncpg.Connection,
    listing: Listing,
    conditions: Sequence[Condition],
    ordering: Sequence[Order],
    limit: int,
    offset: int,
    make: Callable[[asyncpg.Record], T],
) -> Page[T]:
    where, arguments = _where(listing, conditions)
    n = len(arguments)
    async with snapshot(connection):
        count: int = await connection.fetchval(
            f"SELECT count(*) FROM {listing.table} WHERE {where}", *arguments
        )
        keys = [
            row[0]
            for row in await connection.fetch(
                f"SELECT t.{listing.key} FROM {listing.table} WHERE {where}"
                f" ORDER BY {_order_by(listing, ordering)} LIMIT ${n + 1} OFFSET ${n + 2}",
                *arguments,
                limit,
                offset,
            )
        ]
        rows = await connection.fetch(listing.get, keys) if keys else []
    position = {key: index for index, key in enumerate(keys)}
    return count, [make(row) for row in sorted(rows, key=lambda row: position[row[listing.key]])]


async def list_pulp2_content(
    connection: asyncpg.Connection,
    conditions: Sequence[Condition],
    ordering: Sequence[Order],
    limit: int,
    offset: int,
) -> Page[Pulp2Content]:
    return await read_list(
        connection, PULP2_CONTENT, conditions, ordering, limit, offset, Pulp2Content.from_row
    )


async def list_pulp2_repositories(
    connection: asyncpg.Connection,
    conditions: Sequence[Condition],
    ordering: Sequence[Order],
    limit: int,
    offset: int,
) -> Page[Pulp2Repository]:
    return await read_list(
        connection,
        PULP2_REPOSITORIES,
        conditions,
        ordering,
        limit,
        offset,
        Pulp2Repository.from_row,
    )
