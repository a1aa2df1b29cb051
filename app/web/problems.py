"""Domain exceptions and their one rendering: RFC 9457 `application/problem+json`.

Each problem has a stable `type`: `PROBLEM_BASE` + a slug listed in the README.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_BASE = "https://webcare-router.dev/problems/"
PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """An error the client can act on. Subclasses fix the status and slug."""

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


class ValidationProblem(Problem):
    status, slug, title = 422, "validation-error", "The request is not valid"

    def __init__(self, errors: Sequence[dict[str, str]], detail: str | None = None):
        super().__init__(detail or f"{len(errors)} field(s) are not valid", errors=list(errors))


class InvalidParameter(Problem):
    """A request parameter refused before anything is done with it (400, unlike a 422 body)."""

    status, slug, title = 400, "invalid-parameter", "A parameter is not acceptable"

    def __init__(self, errors: Sequence[dict[str, str]], detail: str | None = None):
        super().__init__(detail or "; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=list(errors))


class Unauthorized(Problem):
    status, slug, title = 401, "unauthorized", "Authentication required"

    def __init__(self, detail: str | None = None):
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class InvalidSignature(Problem):
    status, slug, title = 401, "invalid-signature", "The webhook signature is missing or wrong"


class Forbidden(Problem):
    status, slug, title = 403, "forbidden", "Not allowed for this role"


class NotFound(Problem):
    status, slug, title = 404, "not-found", "Not found"


class UnknownConnector(Problem):
    status, slug, title = 404, "unknown-connector", "No connector of that name is configured"


class UnsupportedConnectorKind(Problem):
    status, slug, title = 501, "connector-kind-unsupported", "This connector kind has no adapter in this version"


class Conflict(Problem):
    status, slug, title = 409, "conflict", "Not allowed in the current state"


class PayloadTooLarge(Problem):
    status, slug, title = 413, "payload-too-large", "The request body is too large"


class RuleSetInvalid(Problem):
    status, slug, title = 422, "ruleset-invalid", "The rule folder has errors; the active rule set is unchanged"


class IdempotencyKeyReused(Problem):
    status, slug, title = 422, "idempotency-key-reused", "This Idempotency-Key was used with another request"


class DatabaseUnavailable(Problem):
    status, slug, title = 503, "database-unavailable", "The database cannot be reached; retry later"

    def __init__(self, detail: str | None = None):
        super().__init__(detail, headers={"Retry-After": "5"})


SLUGS = {
    cls.slug: cls.status
    for cls in (Problem, ValidationProblem, InvalidParameter, Unauthorized, InvalidSignature, Forbidden, NotFound,
                UnknownConnector, UnsupportedConnectorKind, Conflict, PayloadTooLarge, RuleSetInvalid,
                IdempotencyKeyReused, DatabaseUnavailable)
}


def problem_response(problem: Problem, request: Request | None = None) -> JSONResponse:
    """The HTTP response for `problem`."""
    instance = request.url.path if request is not None else None
    return JSONResponse(problem.body(instance), status_code=problem.status, media_type=PROBLEM_JSON,
                        headers=problem.headers)


def field_path(loc: Sequence[str | int]) -> str:
    """Pydantic's `loc` as a dotted path with indexes: `("mentions", 0, "author", "id")` →
    `mentions[0].author.id`. Request-part prefixes (`body`, `query`) are dropped."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in ("body", "query", "path", "header") and not path:
            continue
        else:
            path += f".{part}" if path else str(part)
    return path


def validation_errors(errors: Sequence[Any]) -> list[dict[str, str]]:
    """Pydantic errors as `[{"field", "message"}]`."""
    return [{"field": field_path(e.get("loc", ())), "message": e.get("msg", "invalid")} for e in errors]


def install_problem_handlers(app: FastAPI) -> None:
    """Render every error raised in `app` as problem JSON."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(ValidationProblem(validation_errors(exc.errors())), request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        problem = Problem(str(exc.detail) if exc.detail else None)
        problem.status = exc.status_code
        problem.title = HTTPStatus(exc.status_code).phrase
        problem.slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        return problem_response(problem, request)

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        if exc.connection_invalidated or _is_unreachable(exc):
            return problem_response(DatabaseUnavailable(), request)
        raise exc


def _is_unreachable(exc: DBAPIError) -> bool:
    from sqlalchemy.exc import OperationalError

    return isinstance(exc, OperationalError)
