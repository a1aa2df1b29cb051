"""The login throttle: a growing delay after failed logins, per username and per client address.

The first `FREE_FAILURES - 1` failures of a key cost nothing; the `FREE_FAILURES`-th blocks the key
for `BASE_DELAY` and each further one for twice as long as the one before (10 s, 20 s, 40 s, ... up
to `MAX_DELAY`). A blocked username or
address is answered 429 with `Retry-After` before any password is checked. A successful login
clears its username's count (not its address's: one good account must not launder an address that
guesses others). Counts live in the database (`login_failures`), so every replica throttles alike
and `webcare users throttled` shows ops who is blocked; rows quiet for `FORGET_AFTER` are purged
by `app.housekeeping`.

`delay_after` and `retry_after_seconds` are pure; the rest reads and writes the caller's session.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.auth.models import LoginFailure

log = logging.getLogger(__name__)

FREE_FAILURES = 5
BASE_DELAY = timedelta(seconds=10)
MAX_DELAY = timedelta(minutes=15)
FORGET_AFTER = timedelta(days=1)


def throttle_keys(username: str, address: str | None) -> list[str]:
    """The keys a login attempt counts against: its username (case-folded) and its client address."""
    keys = [f"user:{username.strip().casefold()[:200]}"]
    if address:
        keys.append(f"addr:{address[:200]}")
    return keys


def delay_after(failures: int) -> timedelta:
    """How long a key is blocked after its `failures`-th consecutive failure."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    return min(BASE_DELAY * 2 ** min(failures - FREE_FAILURES, 30), MAX_DELAY)


def retry_after_seconds(blocked_until: Sequence[datetime | None], now: datetime) -> int:
    """Whole seconds until every key is free again (0: the attempt may go ahead)."""
    waits = [(until - now).total_seconds() for until in blocked_until if until is not None and until > now]
    return math.ceil(max(waits)) if waits else 0


def blocked_for(session: Session, keys: list[str], *, now: datetime) -> int:
    """Seconds the attempt must wait (0: go ahead)."""
    rows = session.scalars(select(LoginFailure.blocked_until).where(LoginFailure.key.in_(keys)))
    return retry_after_seconds(list(rows), now)


def record_failure(session: Session, keys: list[str], *, now: datetime) -> None:
    """Count one failure against each key (concurrent failures each count); a key that becomes
    blocked is logged for ops."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(insert(LoginFailure).values([{"key": key, "failures": 0, "last_failure_at": now}
                                                 for key in keys]).on_conflict_do_nothing())
    for row in session.scalars(select(LoginFailure).where(LoginFailure.key.in_(keys)).order_by(LoginFailure.key)
                               .with_for_update().execution_options(populate_existing=True)):
        row.failures += 1
        row.last_failure_at = now
        delay = delay_after(row.failures)
        row.blocked_until = now + delay if delay else None
        if delay:
            log.warning("login throttled", extra={"throttle_key": row.key, "failures": row.failures,
                                                  "blocked_seconds": int(delay.total_seconds())})


def record_success(session: Session, username: str) -> None:
    """Clear the username's failures after a correct password."""
    session.execute(delete(LoginFailure).where(LoginFailure.key == throttle_keys(username, None)[0]))


def throttled(session: Session, *, now: datetime) -> list[LoginFailure]:
    """Keys with failures counted, blocked ones first (what ops see)."""
    rows = session.scalars(select(LoginFailure).order_by(LoginFailure.blocked_until.desc().nulls_last(),
                                                         LoginFailure.key))
    return [row for row in rows if row.last_failure_at > now - FORGET_AFTER]


def clear(session: Session, key: str) -> bool:
    """Forget one key's failures (ops unblocking someone); whether there were any."""
    return bool(getattr(session.execute(delete(LoginFailure).where(LoginFailure.key == key)), "rowcount", 0))
