"""Every tier: the test run keeps its files (the generated encryption key among them) in a
directory of its own, never in the user's ``~/.local/share/pulp2to3``."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

_DATA_DIR = tempfile.mkdtemp(prefix="pulp2to3-tests-data-")


def pytest_configure(config: pytest.Config) -> None:
    # Set before any test starts a worker or an API process: they inherit the environment.
    os.environ.setdefault("PULP2TO3_DATA_DIR", _DATA_DIR)


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_DATA_DIR, ignore_errors=True)
