"""Migration plans as stored."""

from __future__ import annotations

import dataclasses
import datetime
import uuid
from typing import Any

import asyncpg

from pulp2to3.database import queries
from pulp2to3.store.views import FromColumns, ListQueries, Page, read_one, read_page


@dataclasses.dataclass(frozen=True)
class StoredPlan(FromColumns):
    id: uuid.UUID
    created_at: datetime.datetime
    plan: dict[str, Any]


async def insert_plan(connection: asyncpg.Connection, plan: dict[str, Any]) -> StoredPlan:
    return StoredPlan.from_row(await connection.fetchrow(queries["insert_plan"], plan))


async def get_plan(connection: asyncpg.Connection, plan_id: uuid.UUID) -> StoredPlan | None:
    return await read_one(connection, "get_plans", plan_id, StoredPlan.from_row)


async def expanded_plan(connection: asyncpg.Connection, migration_id: uuid.UUID) -> Any:
    """The expanded plan a running migration works from (None before it is expanded)."""
    return await connection.fetchval(queries["get_expanded_plan"], migration_id)


async def list_plans(connection: asyncpg.Connection, limit: int, offset: int) -> Page[StoredPlan]:
    return await read_page(
        connection,
        ListQueries("count_plans", "page_plans", "get_plans"),
        (),
        limit,
        offset,
        StoredPlan.from_row,
    )


class PlanBusy(Exception):
    """A migration of the plan is unfinished."""


async def delete_plan(connection: asyncpg.Connection, plan_id: uuid.UUID) -> bool:
    """Delete the plan and its finished reports; False if there is no such plan."""
    row = await connection.fetchrow(queries["delete_plan"], plan_id)
    if row["found"] and not row["deleted"]:
        raise PlanBusy
    return bool(row["deleted"])
