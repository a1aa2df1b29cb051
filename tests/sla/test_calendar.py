"""Calendars: parsing helpers, `is_open` and the open intervals of a day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.timekeeping.calendar import (
    Calendar,
    is_holiday,
    is_open,
    open_intervals,
    parse_closed,
    parse_days,
    parse_interval,
)

AMS = ZoneInfo("Europe/Amsterdam")
H = 3600
WEEKDAY = ((8 * H, 12 * H + 1800), (13 * H, 18 * H))
OFFICE = Calendar(
    name="office", tz=AMS,
    week=(WEEKDAY,) * 5 + (((10 * H, 14 * H),), ()),
    holiday_country="NL",
    closed=(parse_closed("2026-12-24T15:00/2026-12-24T23:59", AMS),),
)
ALWAYS = Calendar(name="always", tz=AMS, always_open=True)


def ams(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=AMS)


@pytest.mark.parametrize(("instant", "expected"), [
    (ams(2026, 3, 2, 8, 0), True),          # Monday opening
    (ams(2026, 3, 2, 7, 59, 59), False),
    (ams(2026, 3, 2, 12, 30), False),       # lunch: end is exclusive
    (ams(2026, 3, 2, 12, 45), False),
    (ams(2026, 3, 2, 13, 0), True),
    (ams(2026, 3, 2, 17, 59), True),
    (ams(2026, 3, 2, 18, 0), False),
    (ams(2026, 3, 7, 11, 0), True),         # Saturday
    (ams(2026, 3, 8, 11, 0), False),        # Sunday
    (ams(2026, 4, 27, 10, 0), False),       # King's Day, a Monday
    (ams(2026, 12, 25, 10, 0), False),      # Christmas
    (ams(2026, 12, 24, 14, 59), True),      # before the closed period
    (ams(2026, 12, 24, 15, 0), False),
    (datetime(2026, 3, 2, 7, 30, tzinfo=UTC), True),    # 08:30 in Amsterdam
    (datetime(2026, 3, 2, 17, 30, tzinfo=UTC), False),  # 18:30 in Amsterdam
])
def test_is_open_office(instant: datetime, expected: bool) -> None:
    assert is_open(OFFICE, instant) is expected


def test_always_open_and_naive_instants() -> None:
    assert is_open(ALWAYS, ams(2026, 3, 8, 3, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        is_open(ALWAYS, datetime(2026, 3, 8, 3, 0))


def test_holidays() -> None:
    assert is_holiday(OFFICE, date(2026, 4, 27))
    assert not is_holiday(OFFICE, date(2026, 4, 28))
    assert not is_holiday(ALWAYS, date(2026, 12, 25))


def test_open_intervals_of_a_day() -> None:
    assert open_intervals(OFFICE, date(2026, 3, 2)) == (
        (datetime(2026, 3, 2, 7, 0, tzinfo=UTC), datetime(2026, 3, 2, 11, 30, tzinfo=UTC)),
        (datetime(2026, 3, 2, 12, 0, tzinfo=UTC), datetime(2026, 3, 2, 17, 0, tzinfo=UTC)))
    assert open_intervals(OFFICE, date(2026, 3, 8)) == ()
    assert open_intervals(OFFICE, date(2026, 12, 25)) == ()
    assert open_intervals(OFFICE, date(2026, 12, 24))[-1] == (
        datetime(2026, 12, 24, 12, 0, tzinfo=UTC), datetime(2026, 12, 24, 14, 0, tzinfo=UTC))


def test_a_24_7_day_has_its_real_length_when_the_clocks_change() -> None:
    (start, end), = open_intervals(ALWAYS, date(2026, 3, 29))
    assert end - start == timedelta(hours=23)
    (start, end), = open_intervals(ALWAYS, date(2026, 10, 25))
    assert end - start == timedelta(hours=25)


@settings(max_examples=300)
@given(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)))
def test_is_open_agrees_with_open_intervals(instant: datetime) -> None:
    day = instant.astimezone(AMS).date()
    inside = any(s <= instant < e for s, e in open_intervals(OFFICE, day))
    assert is_open(OFFICE, instant) is inside


@pytest.mark.parametrize(("text", "expected"), [
    ("08:00-12:30", (8 * H, 12 * H + 1800)),
    ("00:00-24:00", (0, 24 * H)),
    ("13:00 - 18:00", (13 * H, 18 * H)),
])
def test_parse_interval(text: str, expected: tuple[int, int]) -> None:
    assert parse_interval(text) == expected


@pytest.mark.parametrize("text", ["8:00-12:00", "12:00-08:00", "10:00-10:00", "24:00-24:00", "10:60-11:00",
                                  "10:00", "10:00-11:00-12:00", "00:00-24:01"])
def test_parse_interval_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_interval(text)


@pytest.mark.parametrize(("text", "expected"), [
    ("mon", (0,)), ("mon-fri", (0, 1, 2, 3, 4)), ("sat,sun", (5, 6)), ("Mon-Wed, fri", (0, 1, 2, 4)),
])
def test_parse_days(text: str, expected: tuple[int, ...]) -> None:
    assert parse_days(text) == expected


@pytest.mark.parametrize("text", ["fri-mon", "weekday", "mon-tue-wed", ""])
def test_parse_days_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_days(text)


def test_parse_closed_forms() -> None:
    assert parse_closed("2026-12-31", AMS) == (datetime(2026, 12, 30, 23, 0, tzinfo=UTC),
                                               datetime(2026, 12, 31, 23, 0, tzinfo=UTC))
    assert parse_closed("2026-12-24/2026-12-26", AMS)[1] == datetime(2026, 12, 26, 23, 0, tzinfo=UTC)
    assert parse_closed("2026-07-01T10:00Z/2026-07-01T11:00Z", AMS) == (
        datetime(2026, 7, 1, 10, 0, tzinfo=UTC), datetime(2026, 7, 1, 11, 0, tzinfo=UTC))
    for bad in ["", "2026-12-24T16:00/2026-12-24T15:00", "x/y", "a/b/c"]:
        with pytest.raises(ValueError):
            parse_closed(bad, AMS)


def test_calendars_load_from_sla_yaml() -> None:
    from app.rules import load_ruleset
    from tests.rules.support import GOOD

    office = load_ruleset(GOOD).calendars["office"]
    assert office.timezone == "Europe/Amsterdam"
    assert office.week[0] == WEEKDAY and office.week[5] == ((10 * H, 14 * H),) and office.week[6] == ()
    assert office.closed == OFFICE.closed
    assert is_open(office, ams(2026, 3, 2, 9, 0)) and not is_open(office, ams(2026, 4, 27, 9, 0))
