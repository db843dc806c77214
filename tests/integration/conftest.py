"""This tier runs against a real PostgreSQL: register the database fixtures."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.import_plugin("tests.database_support")
