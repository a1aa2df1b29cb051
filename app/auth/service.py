"""Users and API tokens: creation, lookup, revocation. Callers own the transaction.

Every change takes the `actor` who makes it and adds its audit entry (`app.audit`) in the same
transaction: a change is never committed without its entry. Entries hold no password, hash or
token value."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import record
from app.audit.service import ActorLike
from app.auth.models import ROLES, ApiToken, User
from app.auth.passwords import MIN_PASSWORD_LENGTH, hash_password

TOKEN_PREFIX = "wcr_"
_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
LAST_USED_GRANULARITY = timedelta(minutes=1)


class AuthError(ValueError):
    """A user or token request that cannot be carried out (unknown user, bad role, ...)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user acting with their role, or a department system."""

    kind: str  # "user" | "department" | "integration" (may only post feedback)
    name: str  # username, department id or integration name
    role: str | None = None
    user_id: int | None = None
    department: str | None = None
    token_id: int | None = None

    @property
    def actor_type(self) -> str:
        return self.kind

    def has_role(self, *roles: str) -> bool:
        """Roles are ordered agent < lead < ops; a higher role may do what a lower one may."""
        if self.kind != "user" or self.role is None:
            return False
        rank = {role: i for i, role in enumerate(ROLES)}
        return any(rank[self.role] >= rank[r] for r in roles)


def token_digest(token: str) -> str:
    """The SHA-256 hex digest stored for a token."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class HashedPassword:
    """A password already checked for length and hashed: what entry points pass, so that argon2
    (~50 ms, 64 MiB) never runs inside a database transaction (on SQLite it would hold the write lock)."""

    hash: str


def hashed_password(password: str) -> HashedPassword:
    """Check and hash `password`; call before opening the transaction. Raises AuthError when short."""
    return HashedPassword(hash_password(_checked(password)))


def _hash_of(password: str | HashedPassword) -> str:
    return password.hash if isinstance(password, HashedPassword) else hashed_password(password).hash


def add_user(session: Session, *, username: str, role: str, password: str | HashedPassword | None, now: datetime,
             actor: ActorLike, must_change_password: bool = False) -> User:
    """A new active user, audited as `user.created`. Raises AuthError for a taken name, an unknown
    role or a short password. Entry points pass a `HashedPassword`; a plain `str` is hashed here
    (tests, inside their setup)."""
    _check_role(role)
    if not username or len(username) > 64 or not username.replace("-", "").replace(".", "").replace("_", "").isalnum():
        raise AuthError("a username is 1–64 letters, digits, '.', '-' or '_'")
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise AuthError(f"user {username} exists")
    user = User(username=username, role=role, active=True, created_at=now, language=None,
                must_change_password=must_change_password,
                password_hash=_hash_of(password) if password is not None else None)
    session.add(user)
    session.flush()
    record(session, actor, "user.created", f"user:{username}", {"role": role}, now)
    return user


def set_role(session: Session, *, username: str, role: str, now: datetime, actor: ActorLike) -> User:
    """Give a user another role (audited as `user.role_changed`; giving the role they have changes
    and records nothing). Their sessions and tokens act with the new role from their next request.
    Raises AuthError for an unknown user or role."""
    _check_role(role)
    user = get_user(session, username)
    if user.role != role:
        before, user.role = user.role, role
        record(session, actor, "user.role_changed", f"user:{username}", {"role_before": before, "role": role}, now)
    return user


def set_password(session: Session, *, username: str, password: str | HashedPassword, now: datetime,
                 actor: ActorLike, must_change: bool = False) -> User:
    """Replace a user's password: audited as `user.password_changed` when the user changes their
    own, else `user.password_reset`. Raises AuthError for an unknown user or a short password.
    Entry points pass a `HashedPassword` (see `add_user`)."""
    user = get_user(session, username)
    user.password_hash = _hash_of(password)
    user.must_change_password = must_change
    own = actor.kind == "user" and actor.name == username
    record(session, actor, "user.password_changed" if own else "user.password_reset", f"user:{username}",
           {"must_change_password": must_change}, now)
    return user


def deactivate_user(session: Session, *, username: str, now: datetime, actor: ActorLike) -> User:
    """Deactivate a user and revoke their tokens; their history stays. Audited as
    `user.deactivated` with the number of tokens revoked."""
    user = get_user(session, username)
    user.active = False
    revoked = 0
    for token in session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))):
        token.revoked_at = now
        revoked += 1
    record(session, actor, "user.deactivated", f"user:{username}", {"tokens_revoked": revoked}, now)
    return user


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise AuthError(f"no user {username}")
    return user


def create_token(session: Session, *, now: datetime, actor: ActorLike, user: User | None = None,
                 department: str | None = None, integration: str | None = None, label: str | None = None,
                 expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """A new token for exactly one of `user`, `department` or `integration` (a survey tool, which
    may only post feedback), valid until `expires_at` (None: until revoked); returns the row and
    the token text, which is shown once and never stored (nor audited: `token.created` names the
    owner, label and expiry)."""
    if [user, department, integration].count(None) != 2:
        raise AuthError("a token belongs to a user, a department or an integration")
    if integration is not None and not _NAME.match(integration):
        raise AuthError("an integration name is 1-64 letters, digits, '.', '-' or '_'")
    if expires_at is not None and expires_at <= now:
        raise AuthError("a token must expire in the future")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(token_hash=token_digest(token), prefix=token[:12], user_id=user.id if user else None,
                   department=department, integration=integration, label=label, created_at=now,
                   expires_at=expires_at)
    session.add(row)
    session.flush()
    record(session, actor, "token.created", f"token:{row.id}",
           {"owner": token_owner(row, user.username if user else None), "label": label,
            "expires_at": expires_at.isoformat() if expires_at else None}, now)
    return row, token


def token_owner(row: ApiToken, username: str | None) -> str:
    """Whom a token acts for, as the audit log names it: `user:NAME`, `department:ID` or
    `integration:NAME`."""
    if username is not None:
        return f"user:{username}"
    return f"department:{row.department}" if row.department is not None else f"integration:{row.integration}"


def revoke_token(session: Session, *, token_id: int, now: datetime, actor: ActorLike) -> ApiToken:
    """Revoke a token (audited as `token.revoked`; revoking a revoked token changes and records
    nothing). Raises AuthError for an unknown token."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise AuthError(f"no token {token_id}")
    if row.revoked_at is None:
        row.revoked_at = now
        owner = session.get(User, row.user_id) if row.user_id is not None else None
        record(session, actor, "token.revoked", f"token:{row.id}",
               {"owner": token_owner(row, owner.username if owner else None)}, now)
    return row


def last_use_is_stale(last_used_at: datetime | None, now: datetime) -> bool:
    """Whether a token used at `now` should have `last_used_at` written again: it is recorded to the
    minute (`LAST_USED_GRANULARITY`), so a busy token costs one write a minute, not one a request."""
    return last_used_at is None or now - last_used_at >= LAST_USED_GRANULARITY


def principal_for_token(session: Session, token: str, *, now: datetime) -> Principal | None:
    """The principal a bearer token acts as, or None when it is unknown, revoked, expired at `now`
    or its user inactive. A token that acts has `last_used_at` recorded (coarsely: see
    `last_use_is_stale`)."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(token)))
    if row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        return None
    if last_use_is_stale(row.last_used_at, now):
        row.last_used_at = now
    if row.department is not None:
        return Principal(kind="department", name=row.department, department=row.department, token_id=row.id)
    if row.integration is not None:
        return Principal(kind="integration", name=row.integration, token_id=row.id)
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return Principal(kind="user", name=user.username, role=user.role, user_id=user.id, token_id=row.id)


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AuthError(f"role must be one of {', '.join(ROLES)}")


def _checked(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    return password
