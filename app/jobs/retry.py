"""When to try again after a failed attempt. Pure: `now` and the random source are passed in.

Every kind of work uses `RetrySchedule` with its own delays (deliveries retry for about two days;
enrichment and replies for minutes to an hour), the same jitter and the same reading of a
`Retry-After` header (honoured whenever a failed answer carries one, capped).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Protocol


class Rng(Protocol):
    """What the schedule needs of a random source (`random.Random` fits)."""

    def uniform(self, a: float, b: float) -> float: ...


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """`delays[n-1]` is the wait after the n-th failed attempt; one attempt more than there are
    delays is allowed (`max_attempts`).

    `jitter` spreads each wait uniformly over ±jitter of it, so work that fails together is not
    retried together. `max_retry_after` caps a receiver's `Retry-After`.
    """

    delays: tuple[timedelta, ...]
    jitter: float = 0.2
    max_retry_after: timedelta = timedelta(hours=24)

    def __post_init__(self) -> None:
        if not self.delays or any(d < timedelta(0) for d in self.delays):
            raise ValueError("a retry schedule needs at least one non-negative delay")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter is a fraction in [0, 1)")

    @classmethod
    def doubling(cls, first: timedelta, *, cap: timedelta, attempts: int, jitter: float = 0.2) -> RetrySchedule:
        """`first`, twice that, four times, ... at most `cap`, for `attempts` attempts in all."""
        if attempts < 2:
            raise ValueError("a retry schedule allows at least two attempts")
        return cls(tuple(min(cap, first * 2 ** n) for n in range(attempts - 1)), jitter=jitter)

    @property
    def max_attempts(self) -> int:
        return len(self.delays) + 1

    def backoff(self, failed_attempts: int, rng: Rng) -> timedelta:
        """The wait after `failed_attempts` (≥ 1) failures: the delay of that step ± jitter.

        Guarantee: within [delay·(1-jitter), delay·(1+jitter)] of the step's delay (the last delay
        repeats beyond the table)."""
        if failed_attempts < 1:
            raise ValueError("backoff follows at least one failed attempt")
        base = self.delays[min(failed_attempts, len(self.delays)) - 1]
        factor = rng.uniform(1 - self.jitter, 1 + self.jitter) if self.jitter else 1.0
        return base * factor

    def next_attempt_at(self, failed_attempts: int, *, now: datetime, rng: Rng,
                        retry_after: str | None = None) -> datetime:
        """When to try again after `failed_attempts` failures: when the receiver's `Retry-After`
        says (capped by `max_retry_after`), else after `backoff`."""
        asked = parse_retry_after(retry_after, now)
        if asked is not None:
            return min(asked, now + self.max_retry_after)
        return now + self.backoff(failed_attempts, rng)


def parse_retry_after(value: str | None, now: datetime) -> datetime | None:
    """The instant a `Retry-After` header names: delay-seconds or an HTTP date (RFC 9110 §10.2.3).

    Returns None for a missing or unreadable value; a date in the past, or 0 seconds, gives `now`.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isdigit():
        return now + timedelta(seconds=int(text))
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:  # RFC 5322 "-0000": UTC by definition for HTTP dates
        moment = moment.replace(tzinfo=UTC)
    return max(moment, now)
