"""FastAPI dependencies shared by the routers: the request's transaction, the caller, the rule set."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session

from app.auth.service import Principal, principal_for_token
from app.kernel.clock import utc_now
from app.kernel.json_input import MAX_ID
from app.rules import RuleSet
from app.web.problems import Forbidden, Unauthorized


def db_session(request: Request) -> Iterator[Session]:
    """One transaction per request, committed before the response is sent (rolled back on error)."""
    with request.app.state.sessions() as session, session.begin():
        yield session


DbSession = Annotated[Session, Depends(db_session, scope="function")]

RowId = Annotated[int, Path(ge=1, le=MAX_ID, description="a row id (64-bit)")]
"""A row id in a path: past the 64-bit column range is 422 naming the parameter, never a 500."""


def current_ruleset(request: Request) -> RuleSet:
    """The active rule set (swapped atomically by a reload)."""
    ruleset: RuleSet = request.app.state.rules.current
    return ruleset


ActiveRuleSet = Annotated[RuleSet, Depends(current_ruleset)]


def any_principal(request: Request, session: DbSession) -> Principal:
    """The caller of an `/api/v1` request: a bearer token, else the UI's session; 401 without
    either. Integration tokens included: only `current_principal` (every route but feedback) and
    `feedback_principal` decide what they may do."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        principal = principal_for_token(session, token.strip(), now=utc_now())
        if principal is None:
            raise Unauthorized("the bearer token is unknown, revoked or expired")
        return principal
    session_principal = getattr(request.state, "session_principal", None)
    if isinstance(session_principal, Principal):
        return session_principal
    raise Unauthorized("send Authorization: Bearer <token>")


def current_principal(principal: Annotated[Principal, Depends(any_principal)]) -> Principal:
    """`any_principal` for every route but posting feedback: an integration token (a survey tool)
    may do nothing else, so it is refused here (403), once for all routes."""
    if principal.kind == "integration":
        raise Forbidden("an integration token may only post feedback (POST /api/v1/cases/{ref}/feedback)")
    return principal


Caller = Annotated[Principal, Depends(current_principal)]


def require_role(*roles: str) -> Any:
    """A dependency admitting users with one of `roles` (or a higher one); others get 403."""

    def _check(principal: Caller) -> Principal:
        if not principal.has_role(*roles):
            raise Forbidden(f"requires role {' or '.join(roles)}")
        return principal

    return Depends(_check)
