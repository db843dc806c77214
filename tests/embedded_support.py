"""Tests of the embedded PostgreSQL: never leave one running, even when the test fails."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def embedded_server_gone(pgdata: Path) -> Iterator[None]:
    """Run the block; then stop the server of ``pgdata`` if it still runs (fast shutdown)."""
    try:
        yield
    finally:
        pid_file = pgdata / "postmaster.pid"
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text().split()[0]), signal.SIGINT)
