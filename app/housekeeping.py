"""Purging what has expired, on a schedule: idempotency keys past their 24 hours, UI sessions past
their expiry and login-throttle counts quiet for a day.

`expiry_cutoffs(now)` decides, purely, what counts as expired at `now`; `purge_expired` deletes it
in the caller's transaction; `Housekeeper` runs that every `interval` seconds on the shared worker
loop (`app.jobs.leases.run_until_stopped`) in `webcare serve` and in `webcare worker`. Any number
of processes may purge at once: a delete of rows another purge already deleted deletes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from app.auth.models import IdempotencyKey, LoginFailure
from app.auth.throttle import FORGET_AFTER
from app.db import transaction
from app.jobs.leases import run_until_stopped
from app.kernel.clock import utc_now
from app.ui.models import UiSession
from app.web.idempotency import RETENTION

log = logging.getLogger(__name__)

PURGE_INTERVAL_SECONDS = 600.0


@dataclass(frozen=True)
class ExpiryCutoffs:
    """Rows older than these instants are expired: idempotency keys created before
    `idempotency_created_before`, UI sessions whose `expires_at` is at or before `sessions_expire_by`,
    login-throttle counts whose last failure was before `login_failures_before`."""

    idempotency_created_before: datetime
    sessions_expire_by: datetime
    login_failures_before: datetime


def expiry_cutoffs(now: datetime) -> ExpiryCutoffs:
    """What is expired at `now`: the same rules that the key lookup and the session lookup apply
    (a key answers for `RETENTION`; a session is valid until its `expires_at`, exclusive)."""
    return ExpiryCutoffs(idempotency_created_before=now - RETENTION, sessions_expire_by=now,
                         login_failures_before=now - FORGET_AFTER)


def purge_expired(session: Session, *, now: datetime) -> dict[str, int]:
    """Delete every expired idempotency key, UI session and login-throttle count; returns how many
    of each."""
    cutoffs = expiry_cutoffs(now)
    keys = session.execute(delete(IdempotencyKey).where(
        IdempotencyKey.created_at < cutoffs.idempotency_created_before))
    sessions = session.execute(delete(UiSession).where(UiSession.expires_at <= cutoffs.sessions_expire_by))
    failures = session.execute(delete(LoginFailure).where(
        LoginFailure.last_failure_at < cutoffs.login_failures_before))
    return {"idempotency_keys": _count(keys), "ui_sessions": _count(sessions), "login_failures": _count(failures)}


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


class Housekeeper:
    """Purges expired rows every `interval` seconds (`app.jobs.leases.run_until_stopped`: at once
    again while a purge found rows; a failure is logged and tried again next time), on a thread so
    the event loop never waits on the database, until stopped."""

    def __init__(self, sessions: sessionmaker[Session], *, interval: float = PURGE_INTERVAL_SECONDS):
        self.sessions = sessions
        self.interval = interval

    def _purge(self) -> int:
        with transaction(self.sessions) as session:
            purged = purge_expired(session, now=utc_now())
        if any(purged.values()):
            log.info("purged expired rows", extra=purged)
        return sum(purged.values())

    async def run_forever(self, stop: asyncio.Event) -> None:
        await run_until_stopped(stop, lambda: asyncio.to_thread(self._purge), idle_seconds=self.interval,
                                name="purge of expired rows")
