"""Dependencies and errors of the UI routes: who is logged in, CSRF, transactions off the event loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from app.db import transaction
from app.kernel.clock import utc_now
from app.ui.sessions import SESSION_COOKIE, SessionInfo, load_session

T = TypeVar("T")


class LoginRequired(Exception):
    """No valid session: the handler redirects to the login page."""


class PasswordChangeRequired(Exception):
    """A one-time or reset password is still in use: only the password page may be used."""


class UiError(Exception):
    """An error page (`status`, title key, message) in the user's language."""

    def __init__(self, status: int, title_key: str, message: str):
        super().__init__(message)
        self.status = status
        self.title_key = title_key
        self.message = message


def current_session(request: Request) -> SessionInfo | None:
    info = getattr(request.state, "ui_session", None)
    return info if isinstance(info, SessionInfo) else None


def require_user(request: Request) -> SessionInfo:
    """The logged-in user; LoginRequired without a session, PasswordChangeRequired while a one-time
    password is in use (except on the pages that change it or log out)."""
    info = current_session(request)
    if info is None:
        raise LoginRequired()
    if info.must_change_password and request.url.path not in ("/ui/password", "/ui/logout"):
        raise PasswordChangeRequired()
    return info


UiUser = Annotated[SessionInfo, Depends(require_user)]


def require_ops(info: UiUser) -> SessionInfo:
    """Users and tokens are managed by ops only (SPEC §2)."""
    if info.role != "ops":
        raise UiError(403, "error.forbidden", "error.forbidden_text")
    return info


OpsUser = Annotated[SessionInfo, Depends(require_ops)]


def check_csrf(info: SessionInfo, presented: Any) -> None:
    """Refuse (403) a form without the session's CSRF token."""
    if not info.csrf_ok(presented if isinstance(presented, str) else None):
        raise UiError(403, "error.forbidden", "error.csrf")


async def in_transaction(request: Request, work: Callable[[Session], T]) -> T:
    """Run `work` in one committed transaction on a worker thread (rolled back if it raises)."""

    def run() -> T:
        with transaction(request.app.state.sessions) as session:
            return work(session)

    return await run_in_threadpool(run)


async def session_alive(request: Request, info: SessionInfo) -> bool:
    """Whether the session `info` was read from is still valid now: not logged out or ended by a
    password change, not expired, its user still active. Long-lived responses (the live streams)
    ask before every batch and heartbeat, since the middleware read the session only once."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return False
    current = await in_transaction(request, lambda session: load_session(session, token, now=utc_now()))
    return current is not None and current.session_id == info.session_id
