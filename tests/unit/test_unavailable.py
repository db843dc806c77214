"""Which errors mean the database was out of reach: by SQLSTATE class, through the chain."""

from __future__ import annotations

import asyncpg
import pytest
from asyncpg import exceptions as pg_errors
from procrastinate import exceptions

from pulp2to3.database import is_unavailable


@pytest.mark.parametrize(
    "error",
    [
        pg_errors.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        pg_errors.ClientCannotConnectError("cannot reach PostgreSQL"),
        pg_errors.AdminShutdownError("terminating connection due to administrator command"),
        pg_errors.CrashShutdownError("terminating connection because of crash"),
        pg_errors.CannotConnectNowError("the database system is starting up"),
        # What a pooled connection raised when the server shut down during its statement.
        asyncpg.InternalClientError(
            "cannot switch to state 12; another operation (2) is in progress"
        ),
    ],
)
def test_connection_class_errors_are_an_outage(error: Exception) -> None:
    assert is_unavailable(error)


@pytest.mark.parametrize(
    "error",
    [
        OSError(28, "No space left on device"),  # a file error in a task is a real failure
        ConnectionRefusedError(),  # only our connect says a socket error is the database's
        asyncpg.UniqueViolationError("duplicate key"),
        pg_errors.QueryCanceledError("canceling statement due to statement timeout"),
        asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
        RuntimeError("boom"),
    ],
)
def test_other_errors_are_not(error: Exception) -> None:
    assert not is_unavailable(error)


def test_an_error_raised_from_or_while_handling_an_outage_is_one() -> None:
    lost = pg_errors.ConnectionDoesNotExistError("connection was closed")
    translated = exceptions.ConnectorException("wrapped")
    translated.__cause__ = lost
    assert is_unavailable(translated)
    during = asyncpg.InterfaceError("connection is closed")
    during.__context__ = lost
    assert is_unavailable(during)
