"""The pure detection core: thresholds worked out by hand, the calm, and the hour of the week."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.storms.config import IncidentWatch
from app.storms.detect import OpenState, detect, history_slices

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
WATCH = IncidentWatch(id="outage", title="Outage", lists=("outage",), categories=(), window=timedelta(minutes=10),
                      factor=4, min_count=20, calm=timedelta(minutes=30), timezone=AMSTERDAM)
NOW = datetime(2026, 3, 30, 7, 30, tzinfo=UTC)  # Monday 9:30 in Amsterdam (summer time since Sunday)


@pytest.mark.parametrize(("history", "count", "action", "needed"), [
    ([], 19, "none", 20),                 # no history: min_count alone
    ([], 20, "open", 20),
    ([30, 30, 30, 30], 20, "none", 21),   # 30 an hour is 5 a window: more than 4 x 5 needed
    ([30, 30, 30, 30], 21, "open", 21),
    ([60, 0], 21, "open", 21),            # the mean of the weeks: 30 an hour
    ([6], 20, "open", 20),                # 1 a window: 4 x 1 < 20, min_count decides
])
def test_the_threshold_is_min_count_and_more_than_factor_times_the_usual(history: list[int], count: int,
                                                                        action: str, needed: int) -> None:
    verdict = detect(history, count, WATCH, NOW)
    assert (verdict.action, verdict.needed) == (action, needed)


def test_an_open_incident_stays_while_hot_and_closes_after_the_calm() -> None:
    state = OpenState(opened_at=NOW - timedelta(hours=1), last_hot_at=NOW - timedelta(minutes=29, seconds=59))
    assert detect([], 25, WATCH, NOW, state).action == "update"
    assert detect([], 3, WATCH, NOW, state).action == "none"
    assert detect([], 3, WATCH, NOW + timedelta(seconds=1), state).action == "close"


def test_the_hour_of_the_week_is_wall_time_across_a_dst_change() -> None:
    slices = history_slices(NOW, WATCH)
    # Monday 9:00-10:00 in Amsterdam: 7:00 UTC this week (summer), 8:00 UTC the weeks before (winter).
    assert slices[0] == (datetime(2026, 3, 23, 8, tzinfo=UTC), datetime(2026, 3, 23, 9, tzinfo=UTC))
    assert [s[0].astimezone(AMSTERDAM).strftime("%a %H:%M") for s in slices] == ["Mon 09:00"] * 4
    assert len(slices) == WATCH.history_weeks
