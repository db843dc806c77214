"""Tests of the embedded PostgreSQL: a data folder it can use, and never a server left running."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def embedded_data_dir() -> Iterator[Path]:
    """A PULP2TO3_DATA_DIR, with any embedded server in it stopped (fast shutdown) at the end
    if it still runs, then removed.

    Outside pytest's temporary folders: the server runs as another user (as root,
    ``pgserver``), which must enter every parent folder, and each pytest session on the machine
    makes their common parent ``pytest-of-<user>`` private again."""
    folder = Path(tempfile.mkdtemp(prefix="pulp2to3-embedded-"))
    try:
        yield folder
    finally:
        for pid_file in folder.rglob("postmaster.pid"):
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text().split()[0]), signal.SIGINT)
        shutil.rmtree(folder, ignore_errors=True)
