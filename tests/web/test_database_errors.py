"""Only a lost or refused database connection is `503 database-unavailable` (retry later); a
deadlock, a serialization failure, a statement or lock timeout is an error of its own (500), not
"database unavailable", which would send every platform into retries and mislead ops."""

from __future__ import annotations

import sqlite3

import psycopg
import psycopg.errors
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import DBAPIError, OperationalError

from app.web.problems import database_unreachable


def wrapped(error: Exception, *, invalidated: bool = False) -> DBAPIError:
    base = sqlite3.Error if isinstance(error, sqlite3.Error) else psycopg.Error
    return DBAPIError.instance("SELECT 1", {}, error, base, connection_invalidated=invalidated)


@pytest.mark.parametrize(("error", "unreachable"), [
    (psycopg.OperationalError("connection failed: Connection refused"), True),
    (psycopg.errors.AdminShutdown("terminating connection due to administrator command"), True),
    (psycopg.errors.CannotConnectNow("the database system is starting up"), True),
    (psycopg.errors.TooManyConnections("sorry, too many clients already"), True),
    (psycopg.errors.DeadlockDetected("deadlock detected"), False),
    (psycopg.errors.SerializationFailure("could not serialize access"), False),
    (psycopg.errors.QueryCanceled("canceling statement due to statement timeout"), False),
    (psycopg.errors.LockNotAvailable("canceling statement due to lock timeout"), False),
    (sqlite3.OperationalError("database is locked"), False),
    (sqlite3.OperationalError("unable to open database file"), True),
    (psycopg.errors.UniqueViolation("duplicate key"), False),
])
def test_what_counts_as_unreachable(error: Exception, unreachable: bool) -> None:
    exc = wrapped(error)
    assert isinstance(exc, OperationalError) == isinstance(error, psycopg.OperationalError | sqlite3.OperationalError)
    assert database_unreachable(exc) is unreachable
    assert database_unreachable(wrapped(error, invalidated=True)) is True


@pytest.mark.parametrize(("error", "status"), [
    (psycopg.errors.DeadlockDetected("deadlock detected"), 500),
    (psycopg.errors.QueryCanceled("canceling statement due to statement timeout"), 500),
    (psycopg.OperationalError("server closed the connection unexpectedly"), 503),
])
def test_the_answer_over_http(app, error: Exception, status: int) -> None:  # type: ignore[no-untyped-def]
    @app.get("/test-database-error")
    def fail() -> None:
        raise wrapped(error)

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/test-database-error")
    assert response.status_code == status
    if status == 503:
        assert response.json()["type"].endswith("/database-unavailable") and response.headers["retry-after"]
