"""The one rendering of errors: RFC 9457 `application/problem+json`.

Domain errors (`app.kernel.errors`) get their status and stable `type` (`PROBLEM_BASE` + a slug
listed in the README) here; `Problem` subclasses are the errors only the web layer knows. Route
modules import the domain errors from here or from the kernel alike (they are the same classes).
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.kernel.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    InvalidSignature,
    NotFound,
    RuleSetInvalid,
    UnknownConnector,
    UnsupportedConnectorKind,
    field_errors,
)

PROBLEM_BASE = "https://webcare-router.dev/problems/"
PROBLEM_JSON = "application/problem+json"

__all__ = ["Conflict", "DomainError", "Forbidden", "InvalidInput", "InvalidSignature", "NotFound", "Problem",
           "RuleSetInvalid", "UnknownConnector", "UnsupportedConnectorKind"]


class Problem(Exception):
    """An HTTP problem: a domain error's rendering (`problem_of`) or an error only the web layer
    knows (authentication, body size, idempotency keys, the database being away). Subclasses fix
    the status and slug."""

    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str | None = None, *, headers: dict[str, str] | None = None,
                 **extra: Any):
        super().__init__(detail or self.title)
        self.detail = detail
        self.headers = headers
        self.extra = extra

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"type": PROBLEM_BASE + self.slug, "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body


class InvalidParameter(Problem):
    """A request parameter refused before anything is done with it (400, unlike a 422 body)."""

    status, slug, title = 400, "invalid-parameter", "A parameter is not acceptable"

    def __init__(self, errors: Sequence[dict[str, str]], detail: str | None = None):
        super().__init__(detail or "; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=list(errors))


class Unauthorized(Problem):
    status, slug, title = 401, "unauthorized", "Authentication required"

    def __init__(self, detail: str | None = None):
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class PayloadTooLarge(Problem):
    status, slug, title = 413, "payload-too-large", "The request body is too large"


class IdempotencyKeyReused(Problem):
    status, slug, title = 422, "idempotency-key-reused", "This Idempotency-Key was used with another request"


class IdempotencyKeyInUse(Problem):
    status, slug, title = 409, "idempotency-key-in-use", "Another request with this Idempotency-Key was being handled"


class TooManyRequests(Problem):
    status, slug, title = 429, "too-many-requests", "Too many attempts; wait as Retry-After says"


class DatabaseUnavailable(Problem):
    status, slug, title = 503, "database-unavailable", "The database cannot be reached; retry later"

    def __init__(self, detail: str | None = None):
        super().__init__(detail, headers={"Retry-After": "5"})


# Each domain error's status and stable slug (the README lists the slugs).
DOMAIN_PROBLEMS: dict[type[DomainError], tuple[int, str]] = {
    DomainError: (400, "bad-request"),
    InvalidInput: (422, "validation-error"),
    InvalidSignature: (401, "invalid-signature"),
    Forbidden: (403, "forbidden"),
    NotFound: (404, "not-found"),
    UnknownConnector: (404, "unknown-connector"),
    UnsupportedConnectorKind: (501, "connector-kind-unsupported"),
    Conflict: (409, "conflict"),
    RuleSetInvalid: (422, "ruleset-invalid"),
}

SLUGS = {
    **{slug: status for status, slug in DOMAIN_PROBLEMS.values()},
    **{cls.slug: cls.status for cls in (Problem, InvalidParameter, Unauthorized, PayloadTooLarge,
                                        IdempotencyKeyReused, IdempotencyKeyInUse, TooManyRequests,
                                        DatabaseUnavailable)},
}


def problem_of(error: DomainError) -> Problem:
    """The HTTP problem a domain error is shown as: its class's status and slug (the nearest listed
    base class for a subclass), its title, detail and extra members."""
    status, slug = next(DOMAIN_PROBLEMS[cls] for cls in type(error).__mro__ if cls in DOMAIN_PROBLEMS)
    problem = Problem(error.detail, **error.extra)
    problem.status, problem.slug, problem.title = status, slug, error.title
    return problem


def problem_response(problem: Problem, request: Request | None = None) -> JSONResponse:
    """The HTTP response for `problem`."""
    instance = request.url.path if request is not None else None
    return JSONResponse(problem.body(instance), status_code=problem.status, media_type=PROBLEM_JSON,
                        headers=problem.headers)


def install_problem_handlers(app: FastAPI) -> None:
    """Render every error raised in `app` as problem JSON."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc, request)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return problem_response(problem_of(exc), request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(problem_of(InvalidInput(field_errors(exc.errors()))), request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and isinstance(exc.__cause__, ValueError | RecursionError):
            # FastAPI's answer to a body it could not decode (not UTF-8, nested past the parser's
            # recursion limit): the README promises 422 for a body that is not valid.
            reason = "nested too deep" if isinstance(exc.__cause__, RecursionError) else "not UTF-8 JSON"
            return problem_response(problem_of(InvalidInput([{"field": "body", "message": reason}])), request)
        problem = Problem(str(exc.detail) if exc.detail else None)
        problem.status = exc.status_code
        problem.title = HTTPStatus(exc.status_code).phrase
        problem.slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        problem.headers = dict(exc.headers) if exc.headers else None  # e.g. `Allow` on 405
        return problem_response(problem, request)

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        if database_unreachable(exc):
            return problem_response(DatabaseUnavailable(), request)
        raise exc


# SQLSTATEs that mean the server cannot be used: connection exceptions (class 08), shutdowns and
# "cannot connect now" (57P01-57P03), too many connections (53300).
_UNREACHABLE_STATES = ("08", "57P01", "57P02", "57P03", "53300")
# SQLite's messages when the file cannot be opened or read at all.
_SQLITE_UNREACHABLE = ("unable to open database file", "disk i/o error")


def database_unreachable(exc: DBAPIError) -> bool:
    """Whether `exc` is a lost or refused connection (answered 503, retry later). A deadlock, a
    serialization failure, a statement or lock timeout, or SQLite's "database is locked" is not:
    the database is there, and those stay errors of their own."""
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError):
        return False
    state = getattr(exc.orig, "sqlstate", None)
    if state is not None:
        return str(state).startswith(_UNREACHABLE_STATES)
    if type(exc.orig).__module__.startswith("sqlite3"):
        return str(exc.orig).lower().startswith(_SQLITE_UNREACHABLE)
    return True  # psycopg without a SQLSTATE: the connection failed or broke before the server spoke
