"""The retry schedule, Retry-After and outcome classification: tables and properties (pure)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.delivery.schedule import DEFAULT_DELAYS, Outcome, decide
from app.jobs.retry import RetrySchedule, parse_retry_after

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EXACT = RetrySchedule(DEFAULT_DELAYS, jitter=0.0)


class FixedRng:
    """Draws the given point of the interval: 0 = low end, 1 = high end."""

    def __init__(self, at: float):
        self.at = at

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self.at


@pytest.mark.parametrize(("value", "expected"), [
    ("120", NOW + timedelta(seconds=120)),
    ("0", NOW),
    ("  7 ", NOW + timedelta(seconds=7)),
    ("Mon, 02 Mar 2026 09:05:00 GMT", NOW + timedelta(minutes=5)),
    ("Monday, 02-Mar-26 09:05:00 GMT", NOW + timedelta(minutes=5)),   # RFC 850, obsolete but allowed
    ("Mon Mar  2 09:05:00 2026", NOW + timedelta(minutes=5)),          # asctime
    ("Mon, 02 Mar 2026 08:00:00 GMT", NOW),                            # in the past: now
    ("-5", None),
    ("1.5", None),
    ("soon", None),
    ("", None),
    (None, None),
])
def test_retry_after_parses_seconds_and_http_dates(value: str | None, expected: datetime | None) -> None:
    assert parse_retry_after(value, NOW) == expected


@pytest.mark.parametrize(("outcome", "attempts", "status", "due", "disable", "paused"), [
    (Outcome(200), 1, "delivered", NOW, False, False),
    (Outcome(204), 11, "delivered", NOW, False, False),
    (Outcome(299), 3, "delivered", NOW, False, False),
    (Outcome(500), 1, "pending", NOW + timedelta(seconds=5), False, False),
    (Outcome(500), 2, "pending", NOW + timedelta(seconds=30), False, False),
    (Outcome(404), 3, "pending", NOW + timedelta(minutes=2), False, False),
    (Outcome(400), 10, "pending", NOW + timedelta(hours=24), False, False),
    (Outcome(500), 11, "dead", NOW, False, False),
    (Outcome(301, location="https://elsewhere"), 1, "pending", NOW + timedelta(seconds=5), False, False),
    (Outcome(307), 1, "pending", NOW + timedelta(seconds=5), False, False),
    (Outcome(None, error="timeout after 10 s"), 4, "pending", NOW + timedelta(minutes=10), False, False),
    (Outcome(None, error="connection error: ConnectError"), 5, "pending", NOW + timedelta(minutes=30), False, False),
    (Outcome(None, error="timeout after 10 s"), 11, "dead", NOW, False, False),
    (Outcome(410), 1, "pending", NOW, True, False),
    (Outcome(410), 11, "dead", NOW, True, False),
    (Outcome(429), 1, "pending", NOW + timedelta(seconds=5), False, True),
    (Outcome(429, retry_after="90"), 1, "pending", NOW + timedelta(seconds=90), False, True),
    (Outcome(502, retry_after="Mon, 02 Mar 2026 10:00:00 GMT"), 2, "pending", NOW + timedelta(hours=1), False, True),
    (Outcome(504, retry_after="garbage"), 3, "pending", NOW + timedelta(minutes=2), False, True),
    (Outcome(429, retry_after="999999"), 1, "pending", NOW + timedelta(hours=24), False, True),  # capped
    (Outcome(429, retry_after="90"), 11, "dead", NOW, False, False),
    (Outcome(503, retry_after="60"), 1, "pending", NOW + timedelta(seconds=60), False, False),
    (Outcome(500, retry_after="60"), 7, "pending", NOW + timedelta(seconds=60), False, False),
])
def test_classification_table(outcome: Outcome, attempts: int, status: str, due: datetime, disable: bool,
                              paused: bool) -> None:
    decision = decide(outcome, attempts=attempts, now=NOW, schedule=EXACT, rng=random.Random(0))
    assert decision.status == status
    assert decision.disable is disable
    if status != "delivered":
        assert decision.error
    else:
        assert decision.error is None
    if status == "pending":
        assert decision.next_attempt_at == due
    assert (decision.pause_until is not None) is paused
    if paused:
        assert decision.pause_until == decision.next_attempt_at


def test_errors_say_what_happened() -> None:
    def error(outcome: Outcome, attempts: int = 1) -> str:
        decision = decide(outcome, attempts=attempts, now=NOW, schedule=EXACT, rng=random.Random(0))
        assert decision.error is not None
        return decision.error

    assert error(Outcome(302, location="https://x.test/new")) == \
        "HTTP 302: redirect to https://x.test/new not followed"
    assert error(Outcome(500), attempts=11) == "HTTP 500; no attempts left after 11"
    assert "disabled" in error(Outcome(410))
    assert error(Outcome(429)) == "HTTP 429: throttled"
    assert error(Outcome(None, error="timeout after 2 s")) == "timeout after 2 s"


def test_default_schedule_is_the_documented_one() -> None:
    assert [int(d.total_seconds()) for d in DEFAULT_DELAYS] == \
        [5, 30, 120, 600, 1800, 3600, 10800, 21600, 43200, 86400]
    assert RetrySchedule(DEFAULT_DELAYS).max_attempts == 11


@pytest.mark.parametrize(("at", "expected"), [(0.0, 4), (0.5, 5), (1.0, 6)])
def test_jitter_spans_twenty_percent_either_way(at: float, expected: int) -> None:
    assert RetrySchedule(DEFAULT_DELAYS, jitter=0.2).backoff(1, FixedRng(at)) == timedelta(seconds=expected)


def test_invalid_schedules_are_refused() -> None:
    with pytest.raises(ValueError):
        RetrySchedule(delays=())
    with pytest.raises(ValueError):
        RetrySchedule(DEFAULT_DELAYS, jitter=1.0)
    with pytest.raises(ValueError):
        RetrySchedule(DEFAULT_DELAYS).backoff(0, random.Random(0))


@given(failed=st.integers(min_value=1, max_value=50), seed=st.integers(), jitter=st.floats(0, 0.5))
def test_backoff_stays_within_the_jitter_band(failed: int, seed: int, jitter: float) -> None:
    schedule = RetrySchedule(DEFAULT_DELAYS, jitter=jitter)
    base = DEFAULT_DELAYS[min(failed, len(DEFAULT_DELAYS)) - 1]
    delay = schedule.backoff(failed, random.Random(seed))
    assert base * (1 - jitter) - timedelta(microseconds=1) <= delay <= base * (1 + jitter) + timedelta(microseconds=1)


@given(seed=st.integers())
def test_backoff_grows_with_each_failure(seed: int) -> None:
    # Neighbouring steps are at least 2.5x apart, more than ±20% jitter can bridge.
    rng = random.Random(seed)
    delays = [RetrySchedule(DEFAULT_DELAYS).backoff(n, rng) for n in range(1, 11)]
    assert delays == sorted(delays)


@given(code=st.integers(100, 599), attempts=st.integers(1, 11), seed=st.integers(),
       retry_after=st.one_of(st.none(), st.integers(0, 10**7).map(str), st.text(max_size=12)))
def test_every_answer_is_classified_sanely(code: int, attempts: int, seed: int, retry_after: str | None) -> None:
    schedule = RetrySchedule(DEFAULT_DELAYS)
    decision = decide(Outcome(code, retry_after=retry_after), attempts=attempts, now=NOW, schedule=schedule,
                      rng=random.Random(seed))
    if 200 <= code < 300:
        assert decision.status == "delivered"
    elif attempts >= schedule.max_attempts:
        assert decision.status == "dead"
    else:
        assert decision.status == "pending"
        assert NOW <= decision.next_attempt_at <= NOW + schedule.max_retry_after * 1.2
    assert decision.disable is (code == 410)


@given(seconds=st.integers(0, 10**9))
def test_delay_seconds_round_trip(seconds: int) -> None:
    assert parse_retry_after(str(seconds), NOW) == NOW + timedelta(seconds=seconds)
