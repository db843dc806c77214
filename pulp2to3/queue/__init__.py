"""The job queue: Procrastinate over asyncpg, with dispatch and cancel helpers."""

from pulp2to3.queue.application import app

__all__ = ["app"]
