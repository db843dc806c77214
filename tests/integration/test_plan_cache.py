"""A worker parses a migration's expanded plan once, not in every batch task."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from pulp2to3.actors.steps import Migration, load_migration
from pulp2to3.plan import parse_plan

PLAN = {
    "plugins": [
        {
            "type": "iso",
            "repositories": [
                {
                    "name": "one",
                    "repository_versions": [{"pulp2_repository_id": "one"}],
                }
            ],
        }
    ]
}


async def test_batches_of_one_migration_share_its_parsed_plan(
    pool: asyncpg.Pool, new_migration: Callable[[dict[str, Any]], Awaitable[Migration]]
) -> None:
    migration = await new_migration(PLAN)
    async with pool.acquire() as connection:
        first = await load_migration(connection, migration.id)
        second = await load_migration(connection, migration.id)
    assert first.plan == parse_plan(PLAN)
    assert second.plan is first.plan
