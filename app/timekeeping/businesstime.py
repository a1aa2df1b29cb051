"""Business-time arithmetic on a `Calendar` (SPEC §1 "Departments, calendars, SLA policies").

Pure functions over aware instants: nothing here reads the clock. Every instant returned is an
aware UTC datetime. Time is counted on real instants, never on wall clocks, so four open hours
across the night the clocks go forward are four elapsed hours.

The primitives are `advance` ("the instant when N open seconds have elapsed") and
`open_seconds_between`. Everything else is built on them:

- `deadline` applies a policy `Duration` (`s`/`m`/`h` open time, or `Nd` whole open days);
- `budget_time` (`budget_seconds`) turns any duration into open time from a start, so that a timer can be stored
  as "budget, elapsed so far" and survive pauses and moves between calendars;
- `warning_at` (also for escalation steps) places a fraction of the open time between two instants;
- `advance_with_pauses` / `deadline_with_pauses` skip paused stretches.

A timer that moves to another calendar (a change of department) keeps its elapsed open seconds:
`elapsed = running open seconds on the old calendar until the change`, then
`due = advance(new_calendar, change_at, budget - elapsed)`.

Open days are walked one local day at a time via `open_intervals` (cached per calendar and day),
never minute by minute. A calendar that has no open time in `MAX_CLOSED_DAYS` consecutive days is
treated as never open: `NeverOpenError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from app.timekeeping.calendar import Calendar, open_intervals
from app.timekeeping.policy import Duration

MAX_CLOSED_DAYS = 3 * 366
"""Consecutive local days without open time after which a search gives up."""

Span = tuple[datetime, datetime]
Pause = tuple[datetime, datetime | None]
"""A paused stretch [from, to); `to` None means still paused."""

_ONE_SECOND = timedelta(seconds=1)


class NeverOpenError(ValueError):
    """The calendar has no open time within `MAX_CLOSED_DAYS` days of the instant asked about."""


def advance(calendar: Calendar, instant: datetime, seconds: float | timedelta) -> datetime:
    """The earliest instant `t` with `open_seconds_between(calendar, instant, t) == seconds`.

    A start in closed time counts from the next opening. When the time runs out exactly at a
    closing (12:30 before lunch) the answer is that closing, not the next opening. `seconds == 0`
    returns `instant` itself (in UTC). A float amount is rounded to the microsecond; a timedelta is
    exact. Raises ValueError for a negative amount or a naive instant, NeverOpenError when the
    calendar does not open."""
    start = _utc(instant)
    remaining = seconds if isinstance(seconds, timedelta) else timedelta(seconds=seconds)
    if remaining < timedelta():
        raise ValueError("cannot advance by a negative amount of open time")
    if not remaining:
        return start
    if _continuous(calendar):
        return start + remaining
    for span_start, span_end in _spans_from(calendar, start):
        length = span_end - span_start
        if remaining <= length:
            return span_start + remaining
        remaining -= length
    raise AssertionError("unreachable: _spans_from never ends without raising")  # pragma: no cover


def open_seconds_between(calendar: Calendar, a: datetime, b: datetime) -> float:
    """Open seconds in [a, b); 0 when `b <= a`. Whole-second instants give whole numbers of
    seconds; `open_time_between` is the exact form."""
    return open_time_between(calendar, a, b) / _ONE_SECOND


def open_time_between(calendar: Calendar, a: datetime, b: datetime) -> timedelta:
    """Open time in [a, b), exact to the microsecond; zero when `b <= a`. Additive: for
    a <= b <= c, time(a, c) == time(a, b) + time(b, c)."""
    return sum((e - s for s, e in open_spans_between(calendar, a, b)), timedelta())


def open_spans_between(calendar: Calendar, a: datetime, b: datetime) -> tuple[Span, ...]:
    """The open stretches within [a, b) as UTC [start, end) pairs, in order, with stretches that
    touch (midnight on a 24/7 calendar) joined. Empty when `b <= a`."""
    start, end = _utc(a), _utc(b)
    if end <= start:
        return ()
    if _continuous(calendar):
        return ((start, end),)
    out: list[Span] = []
    for span_start, span_end in _spans_from(calendar, start, until=end):
        if span_start >= end:
            break
        piece = (span_start, min(span_end, end))
        if out and out[-1][1] == piece[0]:
            out[-1] = (out[-1][0], piece[1])
        else:
            out.append(piece)
        if span_end >= end:
            break
    return tuple(out)


def next_opening(calendar: Calendar, instant: datetime) -> datetime:
    """`instant` (in UTC) when the calendar is open then, else the start of the next open stretch.
    Raises NeverOpenError."""
    start = _utc(instant)
    if _continuous(calendar):
        return start
    return next(iter(_spans_from(calendar, start)))[0]


def deadline(calendar: Calendar, start: datetime, duration: Duration) -> datetime:
    """When a timer of `duration` started at `start` falls due.

    `s`/`m`/`h`: `advance` by that many open seconds.

    `Nd`: an *open day* is a local day with at least one open stretch once holidays and closed
    periods are taken out (Christmas Eve with a closed afternoon is still one). A start in closed
    time first moves to the next opening. The deadline is that moment's local clock time on the
    N-th open day after the (moved) start's day; if that moment is closed, the next opening after
    it. A clock time the target day skips (DST) is read with the offset before the change (02:30
    becomes 03:30); one it repeats is its first occurrence. Raises NeverOpenError."""
    seconds = duration.open_seconds
    if seconds is not None:
        return advance(calendar, start, seconds)
    return _days_later(calendar, start, duration.amount)


def budget_time(calendar: Calendar, start: datetime, duration: Duration) -> timedelta:
    """The open time a timer of `duration` started at `start` may run: the amount for `s`/`m`/`h`,
    the open time until the `Nd` deadline for days. Store this with the timer; it is what pauses and
    calendar moves draw down. Raises NeverOpenError for days on a calendar that does not open."""
    seconds = duration.open_seconds
    if seconds is not None:
        return timedelta(seconds=seconds)
    return open_time_between(calendar, start, deadline(calendar, start, duration))


def budget_seconds(calendar: Calendar, start: datetime, duration: Duration) -> float:
    """`budget_time` in seconds."""
    return budget_time(calendar, start, duration) / _ONE_SECOND


def warning_at(calendar: Calendar, start: datetime, due: datetime, fraction: float) -> datetime:
    """When `fraction` of the open time between `start` and `due` has passed: `warn_at` for
    warnings, an escalation step's `after` (above 1 falls after `due`). Lies between `start` and
    `due` for fractions in [0, 1]. Raises ValueError for a negative fraction."""
    if fraction < 0:
        raise ValueError("fraction must not be negative")
    return advance(calendar, start, open_time_between(calendar, start, due) * fraction)


def running_seconds(calendar: Calendar, start: datetime, until: datetime, pauses: Iterable[Pause]) -> float:
    """Open seconds in [start, until) outside the pauses: the time a paused-and-resumed timer has
    used so far. Pauses may overlap, be unsorted or reach outside [start, until)."""
    begin, end = _utc(start), _utc(until)
    total = open_time_between(calendar, begin, end)
    for p_from, p_to in _merged(pauses):
        total -= open_time_between(calendar, max(p_from, begin), end if p_to is None else min(p_to, end))
    return total / _ONE_SECOND


def advance_with_pauses(calendar: Calendar, start: datetime, seconds: float | timedelta,
                        pauses: Iterable[Pause]) -> datetime | None:
    """The earliest instant when `seconds` open seconds outside the pauses have elapsed since `start`;
    None when the time is not used up before a pause that has not ended (the timer is paused, so it
    has no deadline). The deadline never falls inside a pause: time that runs out exactly where a
    pause begins is due there. Pauses may overlap or be unsorted; parts before `start` are ignored."""
    at = _utc(start)
    remaining = seconds if isinstance(seconds, timedelta) else timedelta(seconds=seconds)
    for p_from, p_to in _merged(pauses):
        if p_to is not None and p_to <= at:
            continue
        used = open_time_between(calendar, at, p_from)
        if used >= remaining:
            return advance(calendar, at, remaining)
        remaining -= used
        if p_to is None:
            return None
        at = max(at, p_to)
    return advance(calendar, at, remaining)


def deadline_with_pauses(calendar: Calendar, start: datetime, duration: Duration,
                         pauses: Iterable[Pause]) -> datetime | None:
    """`deadline`, pushed back by the open time spent in pauses; None while a pause is open. An `Nd`
    duration is first turned into its open time from `start` (`budget_time`)."""
    return advance_with_pauses(calendar, start, budget_time(calendar, start, duration), pauses)


def _days_later(calendar: Calendar, start: datetime, days: int) -> datetime:
    local = next_opening(calendar, start).astimezone(calendar.tz)
    day, found, closed_streak = local.date(), 0, 0
    while found < days:
        day += timedelta(days=1)
        if _day_spans(calendar, day):
            found, closed_streak = found + 1, 0
        else:
            closed_streak += 1
            if closed_streak > MAX_CLOSED_DAYS:
                raise _never_open(calendar, start)
    target = datetime.combine(day, local.time().replace(fold=0), calendar.tz)
    return next_opening(calendar, target)


def _spans_from(calendar: Calendar, start: datetime, until: datetime | None = None) -> Iterator[Span]:
    """Open stretches clipped to begin at `start`, in order, without end; raises NeverOpenError after
    `MAX_CLOSED_DAYS` local days in a row without one. With `until` the walk ends at the first
    local day that begins at or after it, and never raises: the search is bounded anyway."""
    if until is None and not calendar.always_open and not any(calendar.week):
        raise _never_open(calendar, start)
    # A local day's stretches never reach before its own midnight, so the walk can begin on the
    # start's local day.
    day = start.astimezone(calendar.tz).date()
    closed_streak = 0
    while True:
        spans = _day_spans(calendar, day)
        if spans:
            closed_streak = 0
            for s, e in spans:
                if e > start:
                    yield max(s, start), e
        else:
            closed_streak += 1
            if closed_streak > MAX_CLOSED_DAYS and until is None:
                raise _never_open(calendar, start)
        day += timedelta(days=1)
        if until is not None and _day_start(calendar, day) >= until:
            return


def _day_start(calendar: Calendar, day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), calendar.tz).astimezone(UTC)


@lru_cache(maxsize=8192)
def _day_spans(calendar: Calendar, day: date) -> tuple[Span, ...]:
    # Cached: the sweeper recomputes many timers on the same few calendars and days, and the
    # holiday lookup and time-zone conversions are the cost of a day. Local intervals that touch a
    # skipped DST hour can convert to empty or overlapping instants; join them so no open second is
    # counted twice.
    out: list[Span] = []
    for s, e in sorted(open_intervals(calendar, day)):
        if e <= s:
            continue
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return tuple(out)


def _continuous(calendar: Calendar) -> bool:
    """24/7 without holidays or closed periods: open time is plain elapsed time."""
    return calendar.always_open and calendar.holiday_country is None and not calendar.closed


def _merged(pauses: Iterable[Pause]) -> Sequence[Pause]:
    """Pauses in UTC, sorted, overlapping or touching ones joined; an open pause swallows the rest."""
    out: list[Pause] = []
    for p_from, p_to in sorted(((_utc(f), None if t is None else _utc(t)) for f, t in pauses),
                               key=lambda p: p[0]):
        if p_to is not None and p_to <= p_from:
            continue
        if out and (out[-1][1] is None or out[-1][1] >= p_from):
            last_to = out[-1][1]
            out[-1] = (out[-1][0], None if last_to is None or p_to is None else max(last_to, p_to))
        else:
            out.append((p_from, p_to))
    return out


def _utc(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("instants must be timezone-aware")
    return instant.astimezone(UTC)


def _never_open(calendar: Calendar, start: datetime) -> NeverOpenError:
    return NeverOpenError(f"calendar '{calendar.name}' has no open time within {MAX_CLOSED_DAYS} days "
                          f"after {start.isoformat()}")
