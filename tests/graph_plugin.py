"""A plugin for tests only whose content types form a graph, not a line.

``graph_a`` and ``graph_b`` need nothing of each other, ``graph_c`` needs both. Their units are
the blob plugin's (``tests/blob_plugin.py``): a and b are blobs, c tags one. A batch of a or b
migrates only once a batch of the other runs too, so both run at once or, after
``MEET_WITHIN`` seconds, the batch fails: with two workers the migration completes only if the
coordinator starts independent types together.

Worker processes that know the plugin: ``python -m tests.graph_plugin worker``.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Sequence

import asyncpg

from pulp2to3.plugins import ContentType, MigratedUnits
from pulp2to3.plugins.registry import PLUGINS
from pulp2to3.settings import Settings
from pulp2to3.store import content
from tests import blob_plugin
from tests.waiting_support import eventually

MEET_WITHIN = 30.0


async def _meet(connection: asyncpg.Connection, other: ContentType) -> None:
    """Return once a batch of ``other`` is running, or has succeeded: it could only succeed once
    it met this one running, and may end before this one looks again (each statement sees what
    was committed)."""
    task_name = f"pulp2to3.{other.step_code}"

    async def running() -> bool:
        query = (
            "SELECT count(*) FROM procrastinate_jobs"
            " WHERE task_name = $1 AND status IN ('doing', 'succeeded')"
        )
        return bool(await connection.fetchval(query, task_name))

    await eventually(running, MEET_WITHIN, f"a batch of {other.pulp2_type} running beside")


async def migrate_a(
    content_type: ContentType,
    connection: asyncpg.Connection,
    units: Sequence[content.StagedUnit],
    settings: Settings,
) -> MigratedUnits:
    await _meet(connection, B)
    return await blob_plugin.migrate_blobs(content_type, connection, units, settings)


async def migrate_b(
    content_type: ContentType,
    connection: asyncpg.Connection,
    units: Sequence[content.StagedUnit],
    settings: Settings,
) -> MigratedUnits:
    await _meet(connection, A)
    return await blob_plugin.migrate_blobs(content_type, connection, units, settings)


A = dataclasses.replace(blob_plugin.BLOB, pulp2_type="graph_a", migrate=migrate_a)
B = dataclasses.replace(blob_plugin.BLOB, pulp2_type="graph_b", migrate=migrate_b)
C = dataclasses.replace(blob_plugin.BLOB_TAG, pulp2_type="graph_c", needs=("graph_a", "graph_b"))

PLUGIN = dataclasses.replace(
    blob_plugin.PLUGIN, type="graph", pulp2_repo_type="graph-repo", content_types=(C, A, B)
)


def register() -> None:
    """Make the plugin one of the supported ones, its content tasks known to this process."""
    from pulp2to3.actors.content import content_step

    PLUGINS[PLUGIN.type] = PLUGIN
    for content_type in PLUGIN.content_types:
        content_step(content_type)


if __name__ == "__main__":
    from pulp2to3.cli import main

    register()
    sys.exit(main(sys.argv[1:]))
