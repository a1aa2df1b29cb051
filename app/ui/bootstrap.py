"""First start: a working login without any manual step."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Engine, exists, select
from sqlalchemy.orm import Session

from app.audit import SYSTEM
from app.auth.models import User
from app.auth.service import add_user
from app.db import make_sessionmaker, transaction
from app.kernel.clock import utc_now

ADMIN_USERNAME = "admin"


def ensure_admin(session: Session, now: datetime) -> str | None:
    """When the database has no users at all, add `admin` (role ops) with a random one-time password
    that must be changed at the first login, and return that password (shown once, never stored in
    clear). With any user present, change nothing and return None. Never commits."""
    if session.scalar(select(exists().where(User.id.is_not(None)))):
        return None
    password = secrets.token_urlsafe(15)
    add_user(session, username=ADMIN_USERNAME, role="ops", password=password, now=now, actor=SYSTEM,
             must_change_password=True)
    return password


def first_start_admin(engine: Engine) -> str | None:
    """`ensure_admin` in a transaction of its own (what `webcare serve` runs in development)."""
    with transaction(make_sessionmaker(engine)) as session:
        return ensure_admin(session, utc_now())


def first_start_message(password: str) -> str:
    return (f"first start: created user '{ADMIN_USERNAME}' (role ops) with the one-time password {password} "
            "-- log in at /ui/ and choose your own password (lost it? `webcare users passwd admin` sets a new one)")
