"""Business-time arithmetic: hand-worked tables for the awkward cases, then properties.

Calendars (Europe/Amsterdam): OFFICE is SPEC §1's example (mon-fri 08:00-12:30 and 13:00-18:00,
sat 10:00-14:00, NL holidays, Christmas Eve closed from 15:00); MONFRI is the same without
Saturday. The `holidays` package (0.109) lists for NL 2026: Good Friday 04-03, Easter Monday 04-06,
King's Day 04-27 (a Monday), Ascension 05-14, Whit Monday 05-25, Christmas 12-25 and 12-26.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from app.timekeeping.businesstime import (
    NeverOpenError,
    advance,
    advance_with_pauses,
    budget_seconds,
    deadline,
    deadline_with_pauses,
    next_opening,
    open_seconds_between,
    open_spans_between,
    open_time_between,
    running_seconds,
    warning_at,
)
from app.timekeeping.calendar import Calendar, is_open, parse_closed
from app.timekeeping.policy import parse_duration

AMS = ZoneInfo("Europe/Amsterdam")
H = 3600
WEEKDAY = ((8 * H, 12 * H + 1800), (13 * H, 18 * H))
CHRISTMAS_EVE = parse_closed("2026-12-24T15:00/2026-12-24T23:59", AMS)
OFFICE = Calendar(name="office", tz=AMS, week=(WEEKDAY,) * 5 + (((10 * H, 14 * H),), ()),
                  holiday_country="NL", closed=(CHRISTMAS_EVE,))
MONFRI = Calendar(name="monfri", tz=AMS, week=(WEEKDAY,) * 5 + ((), ()), holiday_country="NL")
ALWAYS = Calendar(name="always", tz=AMS, always_open=True)
# 24/7 but with holidays: the same answers as ALWAYS on ordinary days, through the day-walking path.
ALWAYS_NL = Calendar(name="always-nl", tz=AMS, always_open=True, holiday_country="NL")
# Open across the DST changes (Sunday night 00:00-06:00 local): 5 real hours in March, 7 in October.
NIGHTS = Calendar(name="nights", tz=AMS, week=((),) * 6 + (((0, 6 * H),),))
CLOSED_OFTEN = Calendar(name="closed-often", tz=AMS, week=OFFICE.week, holiday_country="NL", closed=tuple(
    parse_closed(text, AMS) for text in ("2026-03-10T09:15/2026-03-12T16:45", "2026-05-01",
                                         "2026-07-20/2026-08-07", "2026-12-24T15:00/2026-12-24T23:59")))


def ams(month: int, day: int, hour: int = 0, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=AMS)


def utc(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(("calendar", "start", "duration", "due"), [
    # Friday 17:30 + 1h: 30 minutes on Friday, the rest on Saturday morning or Monday.
    (OFFICE, ams(3, 6, 17, 30), "1h", ams(3, 7, 10, 30)),
    (MONFRI, ams(3, 6, 17, 30), "1h", ams(3, 9, 8, 30)),
    # King's Day (Monday 04-27) is skipped.
    (OFFICE, ams(4, 25, 13, 30), "1h", ams(4, 28, 8, 30)),
    (MONFRI, ams(4, 24, 17, 30), "1h", ams(4, 28, 8, 30)),
    # Easter: Good Friday and Easter Monday are both NL holidays in the holidays package.
    (OFFICE, ams(4, 2, 17, 30), "1h", ams(4, 4, 10, 30)),
    (MONFRI, ams(4, 2, 17, 30), "1h", ams(4, 7, 8, 30)),
    (OFFICE, ams(4, 4, 13, 0), "2h", ams(4, 7, 9, 0)),
    # The DST nights on a 24/7 calendar: 4h from 00:30 local is 4 real hours.
    (ALWAYS, ams(3, 29, 0, 30), "4h", utc(3, 29, 3, 30)),       # 05:30 CEST
    (ALWAYS_NL, ams(3, 29, 0, 30), "4h", utc(3, 29, 3, 30)),
    (ALWAYS, ams(10, 25, 0, 30), "4h", utc(10, 25, 2, 30)),     # 03:30 CET
    (ALWAYS_NL, ams(10, 25, 0, 30), "4h", utc(10, 25, 2, 30)),
    (NIGHTS, ams(3, 29, 0, 30), "4h", utc(3, 29, 3, 30)),       # 05:30 CEST, before 06:00
    (NIGHTS, ams(3, 29, 0, 30), "5h", ams(4, 5, 0, 30)),        # 4h30 that night, 30m a week later
    (NIGHTS, ams(10, 25, 0, 0), "7h", utc(10, 25, 5, 0)),       # 06:00 CET: the night is 7h long
    # A start inside the Christmas Eve closure counts from Monday 12-28 (12-25 and 12-26 holidays).
    (OFFICE, ams(12, 24, 15, 0), "1h", ams(12, 28, 9, 0)),
    (OFFICE, ams(12, 24, 20, 0), "1h", ams(12, 28, 9, 0)),
    (OFFICE, ams(12, 24, 14, 30), "1h", ams(12, 28, 8, 30)),
    # Lunch.
    (OFFICE, ams(3, 2, 12, 0), "1h", ams(3, 2, 13, 30)),
    (OFFICE, ams(3, 2, 12, 45), "15m", ams(3, 2, 13, 15)),
    (OFFICE, ams(3, 2, 12, 0), "30m", ams(3, 2, 12, 30)),       # runs out at the closing, not 13:00
    # Exactly at an opening or a closing.
    (OFFICE, ams(3, 2, 8, 0), "1h", ams(3, 2, 9, 0)),
    (OFFICE, ams(3, 2, 12, 30), "1m", ams(3, 2, 13, 1)),
    (OFFICE, ams(3, 2, 18, 0), "1h", ams(3, 3, 9, 0)),
    (OFFICE, ams(3, 2, 7, 59), "30s", ams(3, 2, 8, 0) + timedelta(seconds=30)),
    # Long durations cross many days: a weekday has 9h30 open.
    (OFFICE, ams(3, 2, 8, 0), "20h", ams(3, 4, 9, 0)),
    (MONFRI, ams(3, 2, 8, 0), "2850m", ams(3, 6, 18, 0)),     # 47h30: the whole week, to Friday's closing
    (OFFICE, ams(3, 2, 8, 0), "2851m", ams(3, 7, 10, 1)),
])
def test_deadline_table(calendar: Calendar, start: datetime, duration: str, due: datetime) -> None:
    assert deadline(calendar, start, parse_duration(duration)) == due
    assert open_seconds_between(calendar, start, due) == parse_duration(duration).open_seconds


@pytest.mark.parametrize(("calendar", "start", "duration", "due"), [
    # 1d from a Friday afternoon: Saturday 15:00 is closed, so the next opening (Monday 08:00).
    (OFFICE, ams(3, 6, 15, 0), "1d", ams(3, 9, 8, 0)),
    (MONFRI, ams(3, 6, 15, 0), "1d", ams(3, 9, 15, 0)),
    (OFFICE, ams(3, 6, 15, 0), "2d", ams(3, 9, 15, 0)),
    (OFFICE, ams(3, 6, 11, 0), "1d", ams(3, 7, 11, 0)),            # Saturday 11:00 is open
    (OFFICE, ams(3, 6, 12, 45), "1d", ams(3, 7, 13, 0)),           # lunch start moves to 13:00 first
    (OFFICE, ams(3, 6, 19, 0), "1d", ams(3, 9, 10, 0)),            # closed start: Sat 10:00, then Mon 10:00
    (OFFICE, ams(4, 25, 11, 0), "1d", ams(4, 28, 11, 0)),          # King's Day is not an open day
    (MONFRI, ams(4, 2, 10, 0), "1d", ams(4, 7, 10, 0)),            # Good Friday, weekend, Easter Monday
    (OFFICE, ams(12, 23, 16, 0), "1d", ams(12, 28, 8, 0)),         # Christmas Eve 16:00 is closed
    (OFFICE, ams(12, 22, 10, 0), "2d", ams(12, 24, 10, 0)),        # ... but Christmas Eve is an open day
    (OFFICE, ams(12, 22, 10, 0), "3d", ams(12, 28, 10, 0)),
    (OFFICE, ams(12, 24, 16, 0), "1d", ams(12, 29, 8, 0)),         # starts Mon 08:00, one day later
    (MONFRI, ams(3, 2, 10, 0), "5d", ams(3, 9, 10, 0)),
    # Same clock time across the DST change: 23 real hours in March, 25 in October.
    (ALWAYS, ams(3, 28, 12, 0), "1d", ams(3, 29, 12, 0)),
    (ALWAYS, ams(10, 24, 12, 0), "1d", ams(10, 25, 12, 0)),
    (ALWAYS, ams(3, 28, 2, 30), "1d", utc(3, 29, 1, 30)),         # 02:30 does not exist: 03:30 CEST
])
def test_day_deadline_table(calendar: Calendar, start: datetime, duration: str, due: datetime) -> None:
    assert deadline(calendar, start, parse_duration(duration)) == due


def test_day_durations_measure_real_hours_across_dst() -> None:
    assert budget_seconds(ALWAYS, ams(3, 28, 12, 0), parse_duration("1d")) == 23 * H
    assert budget_seconds(ALWAYS, ams(10, 24, 12, 0), parse_duration("1d")) == 25 * H
    assert budget_seconds(OFFICE, ams(3, 6, 15, 0), parse_duration("1d")) == 3 * H + 4 * H
    assert budget_seconds(OFFICE, ams(3, 6, 15, 0), parse_duration("90m")) == 90 * 60


@pytest.mark.parametrize(("calendar", "a", "b", "hours"), [
    (OFFICE, ams(3, 6, 17, 0), ams(3, 9, 9, 0), 1 + 4 + 1),
    (MONFRI, ams(3, 6, 17, 0), ams(3, 9, 9, 0), 1 + 1),
    (OFFICE, ams(3, 2, 0, 0), ams(3, 9, 0, 0), 5 * 9.5 + 4),
    (OFFICE, ams(4, 27, 0, 0), ams(4, 28, 0, 0), 0),                # King's Day
    (OFFICE, ams(12, 24, 0, 0), ams(12, 25, 0, 0), 4.5 + 2),        # Christmas Eve until 15:00
    (ALWAYS, ams(3, 29, 0, 0), ams(3, 30, 0, 0), 23),
    (ALWAYS_NL, ams(10, 25, 0, 0), ams(10, 26, 0, 0), 25),
    (NIGHTS, ams(3, 29, 0, 0), ams(3, 30, 0, 0), 5),
    (OFFICE, ams(3, 9, 9, 0), ams(3, 6, 17, 0), 0),                 # b before a
])
def test_open_seconds_table(calendar: Calendar, a: datetime, b: datetime, hours: float) -> None:
    assert open_seconds_between(calendar, a, b) == hours * H


def test_open_spans_are_clipped_and_joined() -> None:
    assert open_spans_between(OFFICE, ams(3, 6, 17, 0), ams(3, 9, 9, 0)) == (
        (ams(3, 6, 17, 0), ams(3, 6, 18, 0)), (ams(3, 7, 10, 0), ams(3, 7, 14, 0)),
        (ams(3, 9, 8, 0), ams(3, 9, 9, 0)))
    # Midnight does not split a 24/7 calendar's time, on either path.
    for calendar in (ALWAYS, ALWAYS_NL):
        assert open_spans_between(calendar, ams(3, 2, 22, 0), ams(3, 4, 2, 0)) == ((ams(3, 2, 22, 0), ams(3, 4, 2, 0)),)
    assert open_spans_between(ALWAYS_NL, ams(4, 26, 22, 0), ams(4, 28, 2, 0)) == (
        (ams(4, 26, 22, 0), ams(4, 27, 0, 0)), (ams(4, 28, 0, 0), ams(4, 28, 2, 0)))


def test_results_are_utc_and_naive_instants_are_refused() -> None:
    due = deadline(OFFICE, ams(3, 6, 17, 30), parse_duration("1h"))
    assert due.tzinfo is UTC
    with pytest.raises(ValueError, match="timezone-aware"):
        advance(OFFICE, datetime(2026, 3, 6, 17, 30), 60)
    with pytest.raises(ValueError, match="negative"):
        advance(OFFICE, ams(3, 6), -1)
    assert advance(OFFICE, ams(3, 8, 3, 0), 0) == ams(3, 8, 3, 0)   # nothing to wait for


def test_next_opening() -> None:
    assert next_opening(OFFICE, ams(3, 6, 18, 0)) == ams(3, 7, 10, 0)
    assert next_opening(OFFICE, ams(3, 6, 12, 0)) == ams(3, 6, 12, 0)
    assert next_opening(OFFICE, ams(12, 24, 15, 0)) == ams(12, 28, 8, 0)


def test_a_calendar_that_never_opens_is_an_error() -> None:
    never = Calendar(name="never", tz=AMS)
    with pytest.raises(NeverOpenError, match="'never'"):
        advance(never, ams(3, 2), 60)
    shut = Calendar(name="shut", tz=AMS, always_open=True,
                    closed=(parse_closed("2026-01-01/2030-12-31", AMS),))
    with pytest.raises(NeverOpenError, match="'shut'"):
        deadline(shut, ams(3, 2), parse_duration("1d"))
    with pytest.raises(NeverOpenError):
        advance(shut, ams(3, 2), 60)
    # Asking how much open time a bounded stretch holds is not an error.
    assert open_seconds_between(never, ams(3, 2), ams(3, 9)) == 0
    assert open_seconds_between(shut, ams(3, 2), ams(3, 9)) == 0
    # A long closure below the cap is simply waited out.
    assert advance(CLOSED_OFTEN, ams(7, 20, 9, 0), 60) == ams(8, 8, 10, 1)


@pytest.mark.parametrize(("calendar", "start", "due", "fraction", "expected"), [
    (OFFICE, ams(3, 6, 17, 30), ams(3, 7, 10, 30), 0.5, ams(3, 6, 18, 0)),   # at Friday's closing
    (OFFICE, ams(3, 6, 17, 30), ams(3, 7, 10, 30), 0.75, ams(3, 7, 10, 15)),
    (OFFICE, ams(3, 6, 17, 30), ams(3, 7, 10, 30), 1.0, ams(3, 7, 10, 30)),
    (OFFICE, ams(3, 6, 17, 30), ams(3, 7, 10, 30), 1.5, ams(3, 7, 11, 0)),   # an escalation at 150%
    (OFFICE, ams(3, 6, 17, 30), ams(3, 7, 10, 30), 0.0, ams(3, 6, 17, 30)),
    (ALWAYS, ams(3, 29, 0, 30), utc(3, 29, 3, 30), 0.75, utc(3, 29, 2, 30)),
])
def test_warning_at_table(calendar: Calendar, start: datetime, due: datetime, fraction: float,
                          expected: datetime) -> None:
    assert warning_at(calendar, start, due, fraction) == expected


def test_pauses() -> None:
    four = parse_duration("4h")
    start = ams(3, 2, 9, 0)
    assert deadline_with_pauses(OFFICE, start, four, []) == ams(3, 2, 13, 30)
    # 1h used before the pause, 3h after it.
    pause = (ams(3, 2, 10, 0), ams(3, 3, 9, 0))
    assert deadline_with_pauses(OFFICE, start, four, [pause]) == ams(3, 3, 12, 0)
    assert running_seconds(OFFICE, start, ams(3, 3, 10, 0), [pause]) == 2 * H
    # Still paused: no deadline.
    assert deadline_with_pauses(OFFICE, start, four, [(ams(3, 2, 10, 0), None)]) is None
    assert running_seconds(OFFICE, start, ams(3, 5, 10, 0), [(ams(3, 2, 10, 0), None)]) == H
    # A pause that begins after the time ran out changes nothing; one that begins exactly then neither.
    assert deadline_with_pauses(OFFICE, start, four, [(ams(3, 2, 15, 0), None)]) == ams(3, 2, 13, 30)
    assert deadline_with_pauses(OFFICE, start, four, [(ams(3, 2, 13, 30), None)]) == ams(3, 2, 13, 30)
    # Overlapping, unsorted, and reaching before the start: joined and clipped.
    messy = [(ams(3, 2, 11, 0), ams(3, 2, 14, 0)), (ams(3, 2, 8, 0), ams(3, 2, 10, 0)),
             (ams(3, 2, 10, 30), ams(3, 2, 11, 30))]
    # Open and not paused: 10:00-10:30 then from 14:00 -> 3.5h left at 14:00.
    assert deadline_with_pauses(OFFICE, start, four, messy) == ams(3, 2, 17, 30)
    assert running_seconds(OFFICE, start, ams(3, 2, 15, 0), messy) == 1.5 * H
    # Pauses in closed time cost nothing.
    assert deadline_with_pauses(OFFICE, start, four, [(ams(3, 2, 12, 30), ams(3, 2, 13, 0))]) == ams(3, 2, 13, 30)
    # A timer moved to another calendar keeps its elapsed time (the recipe in the module docstring).
    elapsed = running_seconds(OFFICE, start, ams(3, 2, 11, 0), [])
    assert advance_with_pauses(ALWAYS, ams(3, 2, 11, 0), 4 * H - elapsed, []) == ams(3, 2, 13, 0)


# --- properties -------------------------------------------------------------------------------

CALENDARS = st.sampled_from([ALWAYS, ALWAYS_NL, OFFICE, MONFRI, NIGHTS, CLOSED_OFTEN])
INSTANTS = st.datetimes(min_value=datetime(2025, 12, 1), max_value=datetime(2027, 2, 1), timezones=st.just(UTC))
SECONDS = st.integers(min_value=1, max_value=200 * H)


@settings(max_examples=150, deadline=None)
@given(CALENDARS, INSTANTS, SECONDS)
def test_open_time_to_the_deadline_is_the_duration(calendar: Calendar, start: datetime, seconds: int) -> None:
    due = advance(calendar, start, seconds)
    assert due > start
    assert open_seconds_between(calendar, start, due) == seconds
    # The deadline is the earliest such instant: the calendar was open just before it.
    assert is_open(calendar, due - timedelta(microseconds=1))


@settings(max_examples=150, deadline=None)
@given(CALENDARS, INSTANTS, SECONDS, SECONDS)
def test_adding_a_then_b_equals_adding_a_plus_b(calendar: Calendar, start: datetime, a: int, b: int) -> None:
    assert advance(calendar, advance(calendar, start, a), b) == advance(calendar, start, a + b)


@settings(max_examples=150, deadline=None)
@given(CALENDARS, INSTANTS, INSTANTS, SECONDS, SECONDS)
def test_monotonic_in_start_and_duration(calendar: Calendar, s1: datetime, s2: datetime, a: int, b: int) -> None:
    s1, s2 = sorted((s1, s2))
    a, b = sorted((a, b))
    assert advance(calendar, s1, a) <= advance(calendar, s2, a)
    assert advance(calendar, s1, a) <= advance(calendar, s1, b)


@settings(max_examples=100, deadline=None)
@given(CALENDARS, INSTANTS, SECONDS, st.floats(min_value=0, max_value=1))
def test_warning_lies_between_start_and_deadline(calendar: Calendar, start: datetime, seconds: int,
                                                 fraction: float) -> None:
    due = advance(calendar, start, seconds)
    warn = warning_at(calendar, start, due, fraction)
    assert start <= warn <= due


@settings(max_examples=100, deadline=None)
@given(CALENDARS, INSTANTS, INSTANTS, INSTANTS)
def test_open_time_adds_up_over_a_split(calendar: Calendar, a: datetime, b: datetime, c: datetime) -> None:
    a, b, c = sorted((a, b, c))
    assert open_time_between(calendar, a, c) == open_time_between(calendar, a, b) + open_time_between(calendar, b, c)


@settings(max_examples=40, deadline=None)
@given(CALENDARS, st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31)),
       st.integers(min_value=0, max_value=3 * 24 * 60))
def test_open_time_matches_counting_open_minutes(calendar: Calendar, local: datetime, minutes: int) -> None:
    # An independent oracle: every boundary of these calendars is on a whole minute, so sampling
    # `is_open` once per real minute counts the open time exactly.
    start = local.replace(second=0, microsecond=0, tzinfo=UTC)
    counted = sum(is_open(calendar, start + timedelta(minutes=m)) for m in range(minutes))
    assert open_seconds_between(calendar, start, start + timedelta(minutes=minutes)) == counted * 60


@settings(max_examples=100, deadline=None)
@given(CALENDARS, INSTANTS, SECONDS, INSTANTS, st.integers(min_value=0, max_value=100 * H))
def test_a_pause_pushes_the_deadline_back_by_its_open_time(calendar: Calendar, start: datetime, seconds: int,
                                                           pause_from: datetime, pause_len: int) -> None:
    assume(pause_from >= start)
    pause_to = pause_from + timedelta(seconds=pause_len)
    due = advance_with_pauses(calendar, start, seconds, [(pause_from, pause_to)])
    assert due is not None
    plain = advance(calendar, start, seconds)
    if plain <= pause_from:
        assert due == plain
    else:
        assert running_seconds(calendar, start, due, [(pause_from, pause_to)]) == seconds
        assert due >= plain
