"""What the one-shot runner reads about migrated distributions."""

from __future__ import annotations

import asyncpg

from pulp2to3.database import queries


async def distribution_base_paths(connection: asyncpg.Connection) -> list[str]:
    return [row["base_path"] for row in await connection.fetch(queries["distribution_base_paths"])]
