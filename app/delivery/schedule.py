"""When to try a webhook delivery again, and what one attempt's outcome means. Pure functions.

Delivery rules (Standard Webhooks): 2xx is success; redirects are not followed, so 3xx is a failure;
`410 Gone` disables the subscription; 429, 502 and 504 throttle the whole endpoint; a `Retry-After`
is honoured whenever a failed answer carries one, else the exponential backoff with jitter applies;
failures are retried until the attempts run out, and then the delivery is dead (a dead letter).

Nothing here reads the clock or draws its own random numbers: `now` and `rng` are passed in. The
retry mechanism (jitter, `Retry-After`) is `app.jobs.retry`; deliveries keep their own schedule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.jobs.retry import RetrySchedule, Rng

DEFAULT_DELAYS: tuple[timedelta, ...] = tuple(
    timedelta(seconds=s) for s in (5, 30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 24 * 3600)
)
THROTTLE_STATUSES = frozenset({429, 502, 504})
GONE = 410


DELIVERY_SCHEDULE = RetrySchedule(DEFAULT_DELAYS)
"""Deliveries: 11 attempts spread over about two days, ±20 % jitter, `Retry-After` capped at 24 h."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt produced: an HTTP status (with its `Retry-After` and `Location` headers),
    or no answer at all (`status_code` None, `error` says why: a timeout or a connection error)."""

    status_code: int | None
    error: str | None = None
    retry_after: str | None = None
    location: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with a delivery after an attempt.

    `status` is the delivery's next status (delivered, pending or dead); `next_attempt_at` when it
    is due again (meaningful for pending); `error` the `last_error` to store (None on success);
    `disable` asks to disable the department's subscription (410); `pause_until` asks to send
    nothing more to that endpoint before then (throttling)."""

    status: str
    next_attempt_at: datetime
    error: str | None = None
    disable: bool = False
    pause_until: datetime | None = None


def describe(outcome: Outcome) -> str:
    """A short text for `last_error`: the HTTP status, the unfollowed redirect, or the error."""
    if outcome.status_code is None:
        return outcome.error or "no response"
    if 300 <= outcome.status_code < 400:
        where = f" to {outcome.location}" if outcome.location else ""
        return f"HTTP {outcome.status_code}: redirect{where} not followed"
    return f"HTTP {outcome.status_code}"


def decide(outcome: Outcome, *, attempts: int, now: datetime, schedule: RetrySchedule, rng: Rng) -> Decision:
    """Classify the outcome of attempt number `attempts` (1-based, this one included).

    Guarantees: a 2xx is delivered; any failure after the last allowed attempt is dead; a 410
    disables the subscription and otherwise leaves the delivery pending, so it resumes in order once
    ops re-enable the subscription; another failed answer with a valid `Retry-After` is due then
    (capped by `schedule.max_retry_after`), otherwise after `schedule.backoff(attempts)`; a throttle
    (429, 502, 504) also pauses the whole endpoint until that instant.
    """
    code = outcome.status_code
    if code is not None and 200 <= code < 300:
        return Decision(status="delivered", next_attempt_at=now)
    reason = describe(outcome)
    if attempts >= schedule.max_attempts:
        return Decision(status="dead", next_attempt_at=now, disable=code == GONE,
                        error=f"{reason}; no attempts left after {attempts}")
    if code == GONE:
        return Decision(status="pending", next_attempt_at=now, disable=True,
                        error=f"{reason}: the subscription is disabled until ops re-enable it")
    # A receiver's Retry-After is honoured on any failure it answers (503 carries it too), but only
    # the throttle statuses say the endpoint as a whole is overloaded.
    due = schedule.next_attempt_at(attempts, now=now, rng=rng,
                                   retry_after=outcome.retry_after if code is not None else None)
    if code in THROTTLE_STATUSES:
        return Decision(status="pending", next_attempt_at=due, error=f"{reason}: throttled", pause_until=due)
    return Decision(status="pending", next_attempt_at=due, error=reason)
