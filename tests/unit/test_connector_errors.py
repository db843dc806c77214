"""What the worker's run loop sees of the driver's errors: Procrastinate's exception, with the
driver's as its cause, so that the database being away is told from a real failure."""

from __future__ import annotations

import asyncpg
import pytest
from procrastinate import exceptions

from pulp2to3.database import is_unavailable
from pulp2to3.queue.connector import _wrap_exceptions


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.InternalClientError(
            "cannot switch to state 12; another operation (2) is in progress"
        ),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.CannotConnectNowError("the database system is shutting down"),
    ],
)
def test_a_connection_broken_by_a_server_shutdown_is_the_database_away(
    error: BaseException,
) -> None:
    with pytest.raises(exceptions.ConnectorException) as raised, _wrap_exceptions():
        raise error
    assert raised.value.__cause__ is error
    assert is_unavailable(raised.value)


def test_a_failing_statement_is_not_the_database_away() -> None:
    with pytest.raises(exceptions.ConnectorException) as raised, _wrap_exceptions():
        raise asyncpg.UndefinedTableError('relation "missing" does not exist')
    assert not is_unavailable(raised.value)
