"""The database side of secrets at rest: re-encrypt every stored secret with the first key."""

from __future__ import annotations

import json
from collections.abc import Collection

import asyncpg

from pulp2to3.database import queries
from pulp2to3.encryption import REMOTE_SECRET_FIELDS, Keys


def _rotated(values: object, fields: Collection[str], keys: Keys) -> dict[str, object] | None:
    """``values`` with its secret ``fields`` encrypted with the first key; None if it has none."""
    if not isinstance(values, dict) or not any(isinstance(values.get(f), str) for f in fields):
        return None
    return keys.reseal(values, fields)


async def rotate_secrets(
    connection: asyncpg.Connection, keys: Keys, importer_fields: Collection[str]
) -> int:
    """Re-encrypt the secrets of staged importers (``importer_fields`` of their config) and of
    remotes with the first key, in one transaction; how many rows were rewritten."""
    async with connection.transaction():
        importers = {
            row["pulp2_object_id"]: rotated
            for row in await connection.fetch(queries["encryption_importer_configs"])
            if (rotated := _rotated(row["config"], importer_fields, keys)) is not None
        }
        remotes = {
            row["id"]: rotated
            for row in await connection.fetch(queries["encryption_remote_options"])
            if (rotated := _rotated(row["options"], REMOTE_SECRET_FIELDS, keys)) is not None
        }
        await connection.execute(
            queries["encryption_update_importer_configs"],
            list(importers),
            [json.dumps(config, sort_keys=True) for config in importers.values()],
        )
        await connection.execute(
            queries["encryption_update_remote_options"],
            list(remotes),
            [json.dumps(options, sort_keys=True) for options in remotes.values()],
        )
    return len(importers) + len(remotes)
