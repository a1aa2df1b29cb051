"""Ops manage users (add, deactivate, reset password) and API tokens (list, revoke)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import Actor
from app.auth.models import ROLES, ApiToken, User
from app.auth.service import AuthError, add_user, deactivate_user, hashed_password, revoke_token, set_password
from app.kernel.clock import utc_now
from app.ui.deps import OpsUser, check_csrf, in_transaction
from app.ui.i18n import LANGUAGES, translator
from app.ui.sessions import SessionInfo, end_user_sessions
from app.ui.templating import render
from app.web.deps import RowId

router = APIRouter(prefix="/ui/admin", include_in_schema=False)


@dataclass(frozen=True)
class OneTime:
    username: str
    password: str


@dataclass(frozen=True)
class TokenRow:
    id: int
    prefix: str
    department: str | None
    username: str | None
    label: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    integration: str | None = None


def one_time_password() -> str:
    return secrets.token_urlsafe(15)


def _users_page(request: Request, info: SessionInfo, session: Session, **extra: Any) -> Response:
    users = list(session.scalars(select(User).order_by(User.active.desc(), User.username)))
    return render(request, info, "admin_users.html", {"users": users, "roles": ROLES, "nav": "users",
                                                      "one_time": None, **extra})


@router.get("/users", response_class=HTMLResponse)
async def users_page(request: Request, info: OpsUser) -> Response:
    return await in_transaction(request, lambda s: _users_page(request, info, s))


@router.post("/users")
async def users_add(request: Request, info: OpsUser, username: Annotated[str, Form()] = "",
                    role: Annotated[str, Form()] = "agent", language: Annotated[str, Form()] = "",
                    csrf_token: Annotated[str, Form()] = "") -> Response:
    """A new user with a one-time password, shown once on the answer page."""
    check_csrf(info, csrf_token)

    password = one_time_password()
    hashed = await run_in_threadpool(hashed_password, password)  # outside the transaction

    def work(session: Session) -> Response:
        try:
            with session.begin_nested():
                user = add_user(session, username=username.strip(), role=role, password=hashed, now=utc_now(),
                                actor=Actor.ui(info.username), must_change_password=True)
                user.language = language if language in LANGUAGES else None  # None: the browser's
        except AuthError as exc:
            return _users_page(request, info, session, error=str(exc))
        return _users_page(request, info, session, one_time=OneTime(user.username, password))

    return await in_transaction(request, work)


@router.post("/users/{username}/reset")
async def users_reset(request: Request, username: str, info: OpsUser,
                      csrf_token: Annotated[str, Form()] = "") -> Response:
    """A new one-time password; the user's sessions end and they choose a new one at login."""
    check_csrf(info, csrf_token)

    password = one_time_password()
    hashed = await run_in_threadpool(hashed_password, password)  # outside the transaction

    def work(session: Session) -> Response:
        try:
            user = set_password(session, username=username, password=hashed, now=utc_now(),
                                actor=Actor.ui(info.username), must_change=True)
        except AuthError as exc:
            return _users_page(request, info, session, error=str(exc))
        end_user_sessions(session, user.id)
        return _users_page(request, info, session, one_time=OneTime(user.username, password))

    return await in_transaction(request, work)


@router.post("/users/{username}/deactivate")
async def users_deactivate(request: Request, username: str, info: OpsUser,
                           csrf_token: Annotated[str, Form()] = "") -> Response:
    """Deactivate: their tokens are revoked and their sessions end; their history stays."""
    check_csrf(info, csrf_token)
    t = translator(info.language)

    def work(session: Session) -> Response:
        if username == info.username:
            return _users_page(request, info, session, error=t("users.self"))
        try:
            user = deactivate_user(session, username=username, now=utc_now(), actor=Actor.ui(info.username))
        except AuthError as exc:
            return _users_page(request, info, session, error=str(exc))
        end_user_sessions(session, user.id)
        return _users_page(request, info, session, flash=t("users.deactivated", name=username))

    return await in_transaction(request, work)


def _tokens_page(request: Request, info: SessionInfo, session: Session, **extra: Any) -> Response:
    rows = session.execute(select(ApiToken, User.username).outerjoin(User, User.id == ApiToken.user_id)
                           .order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())).all()
    tokens = [TokenRow(id=tok.id, prefix=tok.prefix, department=tok.department, username=name, label=tok.label,
                       created_at=tok.created_at, last_used_at=tok.last_used_at, revoked_at=tok.revoked_at,
                       integration=tok.integration)
              for tok, name in rows]
    return render(request, info, "admin_tokens.html", {"tokens": tokens, "nav": "tokens", **extra})


@router.get("/tokens", response_class=HTMLResponse)
async def tokens_page(request: Request, info: OpsUser) -> Response:
    return await in_transaction(request, lambda s: _tokens_page(request, info, s))


@router.post("/tokens/{token_id}/revoke")
async def tokens_revoke(request: Request, token_id: RowId, info: OpsUser,
                        csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(info, csrf_token)
    t = translator(info.language)

    def work(session: Session) -> Response:
        try:
            revoke_token(session, token_id=token_id, now=utc_now(), actor=Actor.ui(info.username))
        except AuthError as exc:
            return _tokens_page(request, info, session, error=str(exc))
        return _tokens_page(request, info, session, flash=t("tokens.revoked_done"))

    return await in_transaction(request, work)


__all__ = ["router"]
