"""The unit tier touches no server: any attempt to open a connection fails the test loudly.

No database fixture is registered here (only the integration and acceptance tiers load
``tests.database_support``), and this guard proves nothing else connects either.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest


class UnitTestConnected(AssertionError):
    """A unit test tried to reach a server."""


def _refuse(_socket: socket.socket, address: Any) -> None:
    raise UnitTestConnected(f"a unit test tried to connect to {address!r}")


@pytest.fixture(autouse=True, scope="module")
def no_connections() -> Iterator[None]:
    # Module scope: hypothesis refuses function-scoped fixtures around its examples, and the
    # guard is undone before any other tier's module runs.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", _refuse)
        patch.setattr(socket.socket, "connect_ex", _refuse)
        yield
