"""The unit tier's guard holds: nothing a unit test runs can reach a server."""

from __future__ import annotations

import asyncio
import socket

import asyncpg
import pytest

from tests.unit.conftest import UnitTestConnected


def test_a_socket_cannot_connect() -> None:
    with socket.socket() as probe, pytest.raises(UnitTestConnected):
        probe.connect(("127.0.0.1", 5432))


def test_asyncpg_cannot_reach_postgresql() -> None:
    with pytest.raises(UnitTestConnected):
        asyncio.run(asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres"))
