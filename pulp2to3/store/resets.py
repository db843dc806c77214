"""Resets: recording one (as a migration of kind ``reset``) and removing what a plugin's
migrations made, with its Pulp 2 mapping, so that the next run starts from nothing."""

from __future__ import annotations

import uuid
from typing import NamedTuple

import asyncpg

from pulp2to3.database import queries
from pulp2to3.store.migrations import insert_unfinished


class Pulp2Types(NamedTuple):
    """The Pulp 2 types of what a plugin migrates."""

    repository: str
    content: tuple[str, ...]


class Pulp3Types(NamedTuple):
    """The Pulp 3 types of what a plugin migrates."""

    content: tuple[str, ...]
    repository: str
    remote: str
    publication: str
    distribution: str


async def insert_reset(connection: asyncpg.Connection, plan_id: uuid.UUID) -> uuid.UUID:
    """A waiting reset; ``MigrationConflict`` while a migration or reset is unfinished."""
    return await insert_unfinished(connection, "insert_reset", plan_id)


async def remove_migrated(
    connection: asyncpg.Connection, pulp2: Pulp2Types, pulp3: Pulp3Types
) -> None:
    """Remove the plugin's distributions, publications, repositories with their versions,
    remotes, content, and Pulp 2 mapping (in the caller's transaction)."""
    for query, argument in (
        ("reset_distributions", pulp3.distribution),
        ("reset_publications", pulp3.publication),
        ("reset_repository_versions", pulp3.repository),
        ("reset_repositories", pulp3.repository),
        ("reset_remotes", pulp3.remote),
        ("reset_content", list(pulp3.content)),
        ("reset_pulp2_repositories", pulp2.repository),
        ("reset_pulp2_content", list(pulp2.content)),
    ):
        await connection.execute(queries[query], argument)


async def remove_unreferenced_artifacts(connection: asyncpg.Connection) -> list[str]:
    """Remove the artifacts nothing uses any more; their files (under the media root), which
    the caller removes once the transaction committed."""
    rows = await connection.fetch(queries["reset_unreferenced_artifacts"])
    return [row["file"] for row in rows]
