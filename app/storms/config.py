"""What `routing_rules/incidents.yaml` says, as immutable values (read by `app.rules.schema_incidents`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

_DURATION = re.compile(r"^(\d+)\s*(s|m|h|d)$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
UTC_ZONE = ZoneInfo("UTC")


def parse_span(text: str) -> timedelta:
    """`90s`, `10m`, `2h`, `1d` as wall-clock time; raises ValueError with a message fit for users."""
    match = _DURATION.match(text.strip())
    if match is None or int(match[1]) == 0:
        raise ValueError(f"'{text}' is not a duration like 90s, 10m, 2h or 1d (more than zero)")
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


@dataclass(frozen=True, slots=True)
class IncidentWatch:
    """One kind of storm to watch for.

    A mention matches when its text contains an item of one of `lists` (their included lists too)
    or its routing decision's category is one of `categories`. The watch is *hot* when, in the
    `window` up to now, at least `min_count` mentions matched and more than `factor` times the
    usual number for that window at this hour of the week (the mean of the same hour in the last
    `history_weeks` weeks in `timezone`, scaled to the window). A hot watch opens an incident; an
    open incident closes itself once the watch has not been hot for `calm`.
    """

    id: str
    title: str
    lists: tuple[str, ...]
    categories: tuple[str, ...]
    window: timedelta
    factor: float
    min_count: int
    calm: timedelta
    history_weeks: int = 4
    timezone: ZoneInfo = UTC_ZONE
    file: str = ""
    line: int = 0


@dataclass(frozen=True, slots=True)
class SeriesMention:
    """A series test's mentions: `repeat` of them, `every` apart from `at`, all with `text`."""

    at: datetime
    text: str
    repeat: int = 1
    every: timedelta = timedelta(0)

    def times(self) -> list[datetime]:
        return [self.at + self.every * i for i in range(self.repeat)]


@dataclass(frozen=True, slots=True)
class SeriesBackground:
    """The usual level a series test assumes: `per_hour` mentions with `text` in every hour of the
    history (so in the same hour of every earlier week)."""

    text: str
    per_hour: int


@dataclass(frozen=True, slots=True)
class ExpectedIncident:
    """One incident a series test expects; None is not checked."""

    watch: str
    opened_by: datetime | None = None
    opened_after: datetime | None = None
    closed_by: datetime | None = None
    mentions: int | None = None


@dataclass(frozen=True, slots=True)
class SeriesTest:
    """A series test of `tests/*.yaml`: timestamps and texts in, the incidents they open out (in
    order of opening; an empty `expect` says that nothing opens)."""

    name: str
    file: str
    line: int
    mentions: tuple[SeriesMention, ...]
    background: tuple[SeriesBackground, ...]
    until: datetime | None
    expect: tuple[ExpectedIncident, ...]
