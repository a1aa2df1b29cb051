"""Users, API tokens and idempotency keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, JSONValue
from app.kernel.ids import ID

ROLES = ("agent", "lead", "ops")


class User(Base):
    """A person: agent, lead or ops. Passwords are argon2 hashes; deactivated users keep their history."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    must_change_password: Mapped[bool] = mapped_column(default=False)
    language: Mapped[str | None] = mapped_column(String(8))  # None: follow the browser's Accept-Language
    keyboard_shortcuts: Mapped[bool] = mapped_column(default=True, server_default=true())  # WCAG 2.1.4
    created_at: Mapped[datetime]


class ApiToken(Base):
    """A bearer token. Only its SHA-256 is stored (tokens are 256-bit random, so a fast hash is
    enough); it acts as its user, as a department when `department` is set, or as an integration
    (a survey tool) when `integration` is set: an integration token may only post customer feedback."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    department: Mapped[str | None] = mapped_column(String(64))
    integration: Mapped[str | None] = mapped_column(String(64))
    label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]


class IdempotencyKey(Base):
    """The stored answer to a POST sent with `Idempotency-Key`, kept 24 h per token or session."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("owner", "key"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    owner: Mapped[str] = mapped_column(String(80))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    response: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    created_at: Mapped[datetime] = mapped_column(index=True)


class LoginFailure(Base):
    """Failed logins of one throttle key (`user:<name>` or `addr:<client address>`) since its last
    success; `blocked_until` is when the next attempt may be made (`app.auth.throttle`)."""

    __tablename__ = "login_failures"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[int]
    last_failure_at: Mapped[datetime] = mapped_column(index=True)
    blocked_until: Mapped[datetime | None]
