"""The pure arithmetic of one timer: when its thresholds fall and which of them are due.

A timer is `budget` open seconds, of which `elapsed` were used before `run_from`; while it runs,
time used grows with the open time of its calendar. A threshold is a fraction of the budget:
the warning (`warn_at`), the deadline (1.0) and each escalation step's `after`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.timekeeping.businesstime import advance, open_seconds_between
from app.timekeeping.calendar import Calendar
from app.timekeeping.policy import EscalationStep


@dataclass(frozen=True, slots=True)
class Clock:
    budget: float
    elapsed: float
    run_from: datetime | None

    def used(self, calendar: Calendar, now: datetime) -> float:
        """Open seconds used up to `now`."""
        if self.run_from is None or now <= self.run_from:
            return self.elapsed
        return self.elapsed + open_seconds_between(calendar, self.run_from, now)

    def at_fraction(self, calendar: Calendar, fraction: float) -> datetime | None:
        """When `fraction` of the budget is used: None while paused; `run_from` if already used."""
        if self.run_from is None:
            return None
        remaining = fraction * self.budget - self.elapsed
        return self.run_from if remaining <= 0 else advance(calendar, self.run_from, remaining)


@dataclass(frozen=True, slots=True)
class Firing:
    """A threshold that has come: `what` is "warning", "breach" or "escalation" (`step` its index)."""

    at: datetime
    what: str
    step: int | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """The thresholds due by `now` in the order they fire, and when the next one falls."""

    due: tuple[Firing, ...]
    next_at: datetime | None


ORDER = {"warning": 0, "breach": 1, "escalation": 2}


def plan(calendar: Calendar, clock: Clock, *, warn_fraction: float, steps: tuple[EscalationStep, ...],
         warned: bool, breached: bool, escalations_done: int, now: datetime) -> Plan:
    """Which pending thresholds have come by `now`, in order (by instant; at the same instant the
    warning, then the breach, then the steps in their listed order). Each step fires once and not
    before the step listed before it."""
    pending: list[Firing] = []
    if not warned and warn_fraction < 1.0:
        at = clock.at_fraction(calendar, warn_fraction)
        if at is not None:
            pending.append(Firing(at, "warning"))
    if not breached:
        at = clock.at_fraction(calendar, 1.0)
        if at is not None:
            pending.append(Firing(at, "breach"))
    floor: datetime | None = None
    for index in range(escalations_done, len(steps)):
        at = clock.at_fraction(calendar, steps[index].after)
        if at is None:
            break
        floor = at if floor is None or at > floor else floor
        pending.append(Firing(floor, "escalation", index))
    pending.sort(key=lambda f: (f.at, ORDER[f.what], f.step or 0))
    due = tuple(f for f in pending if f.at <= now)
    later = [f.at for f in pending if f.at > now]
    return Plan(due=due, next_at=min(later) if later else None)
