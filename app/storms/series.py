"""Replaying a series of mention times through detection, as the running service would see them:
the pure simulation behind the rule folder's series tests (`tests/*.yaml`, key `series`)."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.storms.config import ExpectedIncident, IncidentWatch
from app.storms.detect import OpenState, detect

TICK = timedelta(seconds=30)
"""How often the service runs detection (`WEBCARE_INCIDENT_CHECK_SECONDS`' default)."""


@dataclass(frozen=True, slots=True)
class SimulatedIncident:
    watch: str
    opened_at: datetime
    closed_at: datetime | None
    mentions: int


def simulate(watch: IncidentWatch, times: Sequence[datetime], history_counts: Sequence[int], *,
             start: datetime, until: datetime, tick: timedelta = TICK) -> list[SimulatedIncident]:
    """The incidents `watch` opens when mentions matching it arrive at `times`, detection running
    every `tick` from `start` to `until`. An incident groups the matching mentions of the window it
    opened on and every later one that arrives while it is open (as the service groups cases)."""
    ordered = sorted(times)
    out: list[SimulatedIncident] = []
    state: OpenState | None = None
    grouped = 0
    seen_until: datetime | None = None
    now = start
    while now <= until:
        count = bisect.bisect_right(ordered, now) - bisect.bisect_right(ordered, now - watch.window)
        if state is not None and seen_until is not None:
            grouped += bisect.bisect_right(ordered, now) - bisect.bisect_right(ordered, seen_until)
        verdict = detect(history_counts, count, watch, now, state)
        if verdict.action == "open":
            state, grouped = OpenState(now, now), count
        elif verdict.action == "update" and state is not None:
            state = OpenState(state.opened_at, now)
        elif verdict.action == "close" and state is not None:
            out.append(SimulatedIncident(watch.id, state.opened_at, now, grouped))
            state = None
        seen_until = now
        now += tick
    if state is not None:
        out.append(SimulatedIncident(watch.id, state.opened_at, None, grouped))
    return out


def compare(expected: Sequence[ExpectedIncident], got: Sequence[SimulatedIncident]) -> list[str]:
    """Every expectation the simulated incidents do not meet, in words (incidents in order of opening)."""
    if len(expected) != len(got):
        return [f"expected {len(expected)} incident(s), got {len(got)}"
                + "".join(f"; {_describe(g)}" for g in got)]
    out: list[str] = []
    for n, (want, have) in enumerate(zip(expected, got, strict=True), 1):
        if want.watch != have.watch:
            out.append(f"incident {n}: expected watch {want.watch}, got {have.watch}")
        if want.opened_by is not None and have.opened_at > want.opened_by:
            out.append(f"incident {n}: opened at {have.opened_at.isoformat()}, after {want.opened_by.isoformat()}")
        if want.opened_after is not None and have.opened_at <= want.opened_after:
            out.append(f"incident {n}: opened at {have.opened_at.isoformat()}, "
                       f"not after {want.opened_after.isoformat()}")
        if want.closed_by is not None and (have.closed_at is None or have.closed_at > want.closed_by):
            closed = have.closed_at.isoformat() if have.closed_at else "never"
            out.append(f"incident {n}: closed {closed}, expected by {want.closed_by.isoformat()}")
        if want.mentions is not None and want.mentions != have.mentions:
            out.append(f"incident {n}: expected {want.mentions} mentions, got {have.mentions}")
    return out


def _describe(found: SimulatedIncident) -> str:
    closed = found.closed_at.isoformat() if found.closed_at else "still open"
    return f"{found.watch} opened {found.opened_at.isoformat()}, closed {closed}, {found.mentions} mentions"
