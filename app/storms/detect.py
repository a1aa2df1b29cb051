"""The pure core of storm detection: is a watch hot now, and what happens to its incident.

No clock, no database: the caller counts the matching mentions (in the window up to `now`, and in
the same hour of the week in earlier weeks) and passes them in with `now`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from app.storms.config import IncidentWatch

HOUR = timedelta(hours=1)
_UTC = ZoneInfo("UTC")
Action = Literal["open", "update", "close", "none"]


@dataclass(frozen=True, slots=True)
class OpenState:
    """What detection needs of an open incident: when it opened and when its watch was last hot."""

    opened_at: datetime
    last_hot_at: datetime


@dataclass(frozen=True, slots=True)
class Verdict:
    """`open` (hot, none open), `update` (hot, one open: it stays open), `close` (not hot for the
    calm period), `none`. `usual` is the usual count for one window at this hour of the week,
    `needed` the smallest count that is hot."""

    action: Action
    count: int
    usual: float
    needed: int

    @property
    def hot(self) -> bool:
        return self.count >= self.needed


def history_slices(now: datetime, watch: IncidentWatch) -> list[tuple[datetime, datetime]]:
    """The same hour of the week as `now` (wall time in the watch's time zone, so a DST change
    keeps Monday 9:00 at 9:00) in each of the `history_weeks` earlier weeks, newest first, as UTC
    [start, end) pairs."""
    local = now.astimezone(watch.timezone).replace(minute=0, second=0, microsecond=0)
    out = []
    for weeks in range(1, watch.history_weeks + 1):
        start = (local - timedelta(weeks=weeks)).replace(tzinfo=watch.timezone)  # wall-clock arithmetic
        out.append((start.astimezone(_UTC), (start + HOUR).astimezone(_UTC)))
    return out


def usual_in_window(history_counts: Sequence[int], window: timedelta) -> float:
    """The mean of the hourly counts, scaled to one window; 0 without history."""
    if not history_counts:
        return 0.0
    return sum(history_counts) / len(history_counts) * (window / HOUR)


def needed_count(history_counts: Sequence[int], watch: IncidentWatch) -> tuple[float, int]:
    """(usual count per window, smallest hot count): at least `min_count` and more than `factor`
    times the usual count."""
    usual = usual_in_window(history_counts, watch.window)
    return usual, max(watch.min_count, math.floor(watch.factor * usual) + 1)


def detect(history_counts: Sequence[int], window_count: int, watch: IncidentWatch, now: datetime,
           current: OpenState | None = None) -> Verdict:
    """What happens at `now`, given the hourly counts of the same hour in earlier weeks
    (`history_counts`, one per week that has history), the matching mentions in the window up to
    `now`, and the watch's open incident (`current`, None when there is none).

    Guarantees: opens only when hot; an open incident is kept while hot and closed only once
    `calm` has passed since it was last hot; a burst below the factor (or below `min_count`)
    opens nothing.
    """
    usual, needed = needed_count(history_counts, watch)
    hot = window_count >= needed
    if current is None:
        action: Action = "open" if hot else "none"
    elif hot:
        action = "update"
    elif now - current.last_hot_at >= watch.calm:
        action = "close"
    else:
        action = "none"
    return Verdict(action, window_count, usual, needed)

