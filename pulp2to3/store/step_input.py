"""A repository step's input: computed once per migration, by the first of its batches (or,
for create_repo_versions, by the step compute_version_content, ahead of them).

create_repositories, create_repo_versions and create_publications read what their batches need
(remote artifacts by importer, version content by Pulp 2 repository, published files by
version) from a table that one statement fills for the whole step, with hash joins over the
staging and content tables. Per batch, the same rows cost a few index probes each into tables
far bigger than the server's buffers: several times more at 1,000,000 units.

The first batch of the step in a migration computes it in its transaction, under the step's
advisory lock; the others wait for that lock, so they see it once that batch commits. A batch
that fails or is killed takes the input with it, and the next batch computes it again. The
input holds while the step runs: what it is computed from is written by steps that have all
completed (the content steps for create_repo_versions' input, which create_repositories, running
beside it, does not write), and no other migration runs meanwhile. It is recorded with a digest
of its arguments (the plan's repositories it covers), so it is computed again for other ones.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg

from pulp2to3.database import queries


async def ensure(
    connection: asyncpg.Connection,
    step_code: str,
    migration_id: uuid.UUID,
    arguments: Sequence[Any],
    compute: Callable[[], Awaitable[None]],
) -> bool:
    """Make sure the input of ``step_code`` is ``migration_id``'s for ``arguments`` (JSON
    values), running ``compute`` (which empties and fills the step's table from them) when it
    is not; True when it did. Call it first in the batch's transaction, before the batch locks
    any row: the lock it may take waits for the batch computing the input to commit."""
    digest = hashlib.sha256(json.dumps(arguments).encode()).hexdigest()
    is_current = queries["step_input_is"]
    if await connection.fetchval(is_current, step_code, migration_id, digest):
        return False
    await connection.execute(queries["step_input_lock"], step_code)
    if await connection.fetchval(is_current, step_code, migration_id, digest):
        return False  # another batch computed it meanwhile
    await connection.execute(queries["step_input_settings"])
    await compute()
    await connection.execute(queries["step_input_settings_reset"])
    await connection.execute(queries["step_input_record"], step_code, migration_id, digest)
    return True
