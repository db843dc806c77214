"""The one layer through which actors and HTTP handlers read and write the database."""

from pulp2to3.database import is_unavailable

__all__ = ["is_unavailable"]
