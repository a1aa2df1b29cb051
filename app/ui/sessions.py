"""Server-side UI sessions: login, lookup, logout, CSRF tokens. Callers own the transaction.

Guarantees: a session is valid only while unexpired and while its user is active; the cookie value
is never stored (only its SHA-256); every session has its own CSRF token; changing or resetting a
password ends the user's other sessions.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.passwords import hash_password, verify_password
from app.auth.service import Principal
from app.ui.models import UiSession

SESSION_COOKIE = "webcare_session"
LOGIN_CSRF_COOKIE = "webcare_login_csrf"
SESSION_TTL = timedelta(hours=12)  # one working day; then log in again
# Verified when the username is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = hash_password("not-a-real-password-for-timing")


@dataclass(frozen=True)
class SessionInfo:
    """The logged-in user behind a request's session cookie."""

    session_id: int
    user_id: int
    username: str
    role: str
    language: str  # the language pages are shown in (the middleware fills in the browser's when unset)
    must_change_password: bool
    csrf_token: str
    language_choice: str | None = None  # what the user chose; None: follow the browser
    shortcuts: bool = True  # single-key shortcuts on (WCAG 2.1.4: the user can turn them off)

    @property
    def principal(self) -> Principal:
        return Principal(kind="user", name=self.username, role=self.role, user_id=self.user_id)

    def csrf_ok(self, presented: str | None) -> bool:
        """Constant-time comparison with the session's CSRF token."""
        return bool(presented) and hmac.compare_digest(presented or "", self.csrf_token)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def login_hash(session: Session, username: str) -> str | None:
    """The stored password hash of the active user `username` (None: no such active user). Read
    in a transaction; the password is checked against it after that transaction, never inside."""
    user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    return user.password_hash if user is not None else None


def password_matches(stored_hash: str | None, password: str) -> bool:
    """argon2 verification; an unknown user costs as long as a wrong password. Call outside any
    database transaction (it takes ~50 ms of CPU and 64 MiB)."""
    if stored_hash is None:
        verify_password(_DUMMY_HASH, password)
        return False
    return verify_password(stored_hash, password)


def user_for_login(session: Session, username: str, stored_hash: str) -> User | None:
    """The active user whose hash is still the one checked (a password changed meanwhile: None)."""
    return session.scalar(select(User).where(User.username == username, User.active.is_(True),
                                             User.password_hash == stored_hash))


def start_session(session: Session, user: User, *, now: datetime) -> str:
    """A new session for `user`; returns the cookie value (shown to the browser only)."""
    token = secrets.token_urlsafe(32)
    session.add(UiSession(token_hash=_digest(token), user_id=user.id, csrf_token=secrets.token_urlsafe(32),
                          created_at=now, expires_at=now + SESSION_TTL))
    session.execute(delete(UiSession).where(UiSession.user_id == user.id, UiSession.expires_at < now))
    session.flush()
    return token


def load_session(session: Session, token: str, *, now: datetime) -> SessionInfo | None:
    """The session a cookie names, or None when unknown, expired or its user is inactive."""
    row = session.execute(
        select(UiSession, User).join(User, User.id == UiSession.user_id)
        .where(UiSession.token_hash == _digest(token))
    ).first()
    if row is None:
        return None
    ui_session, user = row
    if ui_session.expires_at <= now or not user.active:
        return None
    return SessionInfo(session_id=ui_session.id, user_id=user.id, username=user.username, role=user.role,
                       language=user.language or "en", must_change_password=user.must_change_password,
                       csrf_token=ui_session.csrf_token, language_choice=user.language,
                       shortcuts=user.keyboard_shortcuts)


def end_session(session: Session, session_id: int) -> None:
    """Log one browser out."""
    session.execute(delete(UiSession).where(UiSession.id == session_id))


def end_user_sessions(session: Session, user_id: int, *, keep: int | None = None) -> None:
    """Log the user out everywhere (but `keep`)."""
    query = delete(UiSession).where(UiSession.user_id == user_id)
    if keep is not None:
        query = query.where(UiSession.id != keep)
    session.execute(query)


def new_csrf_token() -> str:
    """A token for the login form's double-submit cookie (there is no session yet)."""
    return secrets.token_urlsafe(32)
