"""Reading an id back from what a user gives: shared by the API's filters and the CLI."""

from __future__ import annotations

import uuid


def migration_id_of(text: str) -> uuid.UUID:
    """A report id given as its UUID or its href; ValueError for anything else."""
    return uuid.UUID(text.rstrip("/").rsplit("/", 1)[-1])
