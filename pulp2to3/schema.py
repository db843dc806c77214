"""Installing the schema: pulp2to3's own tables and Procrastinate's."""

from __future__ import annotations

import asyncpg
from procrastinate.schema import SchemaManager

from pulp2to3.database import queries, schema_sql


async def init_db(connection: asyncpg.Connection) -> None:
    """Apply both schemas in one transaction; running it again changes nothing."""
    async with connection.transaction():
        await connection.execute(queries["init_db_lock"])
        if not await connection.fetchval(queries["procrastinate_installed"]):
            await connection.execute(SchemaManager.get_schema())
        await connection.execute(schema_sql())
