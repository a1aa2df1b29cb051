"""Business calendars (SPEC §1 "Departments, calendars, SLA policies") and whether one is open.

A `Calendar` is an immutable value: a time zone, a weekly pattern of local opening intervals (or
24/7), public holidays by country (the `holidays` package) and closed periods. `is_open` answers for
one instant; `open_intervals` gives the open stretches of one local day as real instants, which is
what deadline arithmetic walks over.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_SECONDS = 24 * 3600
Interval = tuple[int, int]
"""Local seconds since midnight, [start, end); end may be 86400 (24:00)."""

_HHMM = re.compile(r"^(\d{2}):(\d{2})$")


@dataclass(frozen=True, slots=True)
class Calendar:
    """When a team works. `week[0]` is Monday's intervals, sorted and non-overlapping; `closed`
    holds aware UTC [start, end) instants."""

    name: str
    tz: ZoneInfo
    always_open: bool = False
    week: tuple[tuple[Interval, ...], ...] = ((),) * 7
    holiday_country: str | None = None
    holiday_subdiv: str | None = None
    closed: tuple[tuple[datetime, datetime], ...] = ()

    @property
    def timezone(self) -> str:
        return self.tz.key


def parse_clock(text: str, *, allow_24: bool = False) -> int:
    """Seconds since midnight for `HH:MM`; `24:00` only when `allow_24`. Raises ValueError."""
    m = _HHMM.match(text)
    if not m:
        raise ValueError(f"'{text}' is not a time of day HH:MM")
    hours, minutes = int(m.group(1)), int(m.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and (minutes or not allow_24)):
        raise ValueError(f"'{text}' is not a time of day HH:MM")
    return hours * 3600 + minutes * 60


def parse_interval(text: str) -> Interval:
    """`08:00-12:30` as local seconds [start, end). Raises ValueError; an interval must not cross
    midnight (write it as two days' intervals) and must not be empty."""
    parts = text.split("-")
    if len(parts) != 2:
        raise ValueError(f"'{text}' is not an interval HH:MM-HH:MM")
    start, end = parse_clock(parts[0].strip()), parse_clock(parts[1].strip(), allow_24=True)
    if end <= start:
        raise ValueError(f"interval '{text}' ends before it starts (use 24:00 for midnight)")
    return start, end


def parse_days(text: str) -> tuple[int, ...]:
    """Weekday numbers (Monday 0) for `mon`, `mon-fri`, `sat,sun` or `mon-wed,fri`."""
    out: list[int] = []
    for part in text.replace(" ", "").lower().split(","):
        ends = part.split("-")
        if len(ends) > 2 or any(e not in DAYS for e in ends):
            raise ValueError(f"'{text}' is not a day or day range (mon..sun, e.g. mon-fri)")
        first, last = DAYS.index(ends[0]), DAYS.index(ends[-1])
        if last < first:
            raise ValueError(f"day range '{part}' runs backwards")
        out.extend(range(first, last + 1))
    return tuple(out)


def parse_closed(text: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """A closed period as aware UTC [start, end). Forms: `START/END` with local date-times (an
    offset is honoured when given), `DATE` (that whole local day) or `DATE/DATE` (whole days,
    inclusive). Raises ValueError."""
    parts = text.split("/")
    if len(parts) > 2 or not all(p.strip() for p in parts):
        raise ValueError(f"'{text}' is not a closed period START/END")
    start = _local_point(parts[0].strip(), tz, end_of_day=False)
    end = _local_point(parts[-1].strip(), tz, end_of_day=True) if len(parts) == 2 else \
        _local_point(parts[0].strip(), tz, end_of_day=True)
    if end <= start:
        raise ValueError(f"closed period '{text}' ends before it starts")
    return start, end


def _local_point(text: str, tz: ZoneInfo, *, end_of_day: bool) -> datetime:
    if "T" not in text:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"'{text}' is not a date or date-time") from None
        return _at(day + timedelta(days=1) if end_of_day else day, 0, tz)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"'{text}' is not a date-time") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def _at(day: date, seconds: int, tz: ZoneInfo) -> datetime:
    """The instant of local `day` + `seconds` (86400 = the next midnight)."""
    if seconds >= DAY_SECONDS:
        day, seconds = day + timedelta(days=1), seconds - DAY_SECONDS
    local = datetime.combine(day, time(seconds // 3600, seconds % 3600 // 60, seconds % 60), tz)
    return local.astimezone(UTC)


@lru_cache(maxsize=256)
def _holidays(country: str, subdiv: str | None, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, subdiv=subdiv, years=year).keys())


def is_holiday(calendar: Calendar, day: date) -> bool:
    """Whether a local day is a public holiday of the calendar's country."""
    if calendar.holiday_country is None:
        return False
    return day in _holidays(calendar.holiday_country, calendar.holiday_subdiv, day.year)


def is_open(calendar: Calendar, instant: datetime) -> bool:
    """Whether the calendar is open at an aware instant. Raises ValueError for a naive one."""
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    if any(start <= instant < end for start, end in calendar.closed):
        return False
    local = instant.astimezone(calendar.tz)
    if is_holiday(calendar, local.date()):
        return False
    if calendar.always_open:
        return True
    seconds = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
    return any(start <= seconds < end for start, end in calendar.week[local.weekday()])


def open_intervals(calendar: Calendar, day: date) -> tuple[tuple[datetime, datetime], ...]:
    """The open stretches of one local day as aware UTC [start, end) instants, in order, with
    holidays and closed periods taken out. Local times are converted on the day itself, so a day
    the clocks change has its real length."""
    if is_holiday(calendar, day):
        return ()
    local = ((0, DAY_SECONDS),) if calendar.always_open else calendar.week[day.weekday()]
    out: list[tuple[datetime, datetime]] = []
    for start_s, end_s in local:
        pieces = [(_at(day, start_s, calendar.tz), _at(day, end_s, calendar.tz))]
        for c_start, c_end in calendar.closed:
            pieces = [p for s, e in pieces for p in _minus(s, e, c_start, c_end)]
        out.extend(pieces)
    return tuple(out)


def _minus(start: datetime, end: datetime, c_start: datetime,
           c_end: datetime) -> list[tuple[datetime, datetime]]:
    if c_end <= start or c_start >= end:
        return [(start, end)]
    return [(s, e) for s, e in ((start, c_start), (c_end, end)) if s < e]
