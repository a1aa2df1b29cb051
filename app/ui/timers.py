"""SLA timers as the UI shows them: state colour, time left, the nearest deadline (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

LIVE_STATES = ("breached", "warned", "running")
SOON_SECONDS = 3600  # a running deadline closer than this is shown as "under an hour"
# The mark beside each urgency's word and colour, so none is told by colour alone (WCAG 1.4.1).
URGENCY_ICONS = {"running": "○", "soon": "◔", "warned": "▲", "breached": "✖", "paused": "❚❚", "met": "✓",
                 "stopped": "–"}


@dataclass(frozen=True)
class TimerView:
    kind: str
    state: str
    due_at: datetime | None  # None while paused or stopped
    department: str | None
    left: str
    urgency: str = "running"  # the state, but `soon` for a running deadline under an hour away

    @property
    def due_iso(self) -> str:
        return self.due_at.isoformat() if self.due_at else ""

    @property
    def icon(self) -> str:
        return URGENCY_ICONS.get(self.urgency, "•")


def urgency(state: str, due_at: datetime | None, now: datetime) -> str:
    """How urgent a timer looks: its state, except that a running one due within an hour is `soon`."""
    if state == "running" and due_at is not None and (due_at - now).total_seconds() < SOON_SECONDS:
        return "soon"
    return state


def format_left(seconds: float) -> str:
    """`1h 05m`, `4m 09s`, `2d 3h`; overdue times get a minus sign. The browser ticks it on."""
    sign = "-" if seconds < 0 else ""
    s = int(abs(seconds))
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {hours}h"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    return f"{sign}{minutes}m {secs:02d}s"


def timer_views(sla: dict[str, dict[str, Any]], *, now: datetime) -> list[TimerView]:
    """The case JSON's `sla` dict as views, soonest deadline first (timers without one last)."""
    views = []
    for kind, timer in sla.items():
        due = timer.get("due_at")
        due = due if isinstance(due, datetime) else None
        state = str(timer.get("state") or "running")
        views.append(TimerView(kind=kind, state=state, due_at=due, department=timer.get("department"),
                               left=format_left((due - now).total_seconds()) if due else "",
                               urgency=urgency(state, due, now)))
    return sorted(views, key=lambda v: (v.due_at is None, v.due_at or now, v.kind))


def nearest_timer(views: list[TimerView]) -> TimerView | None:
    """The timer the queue row shows: the soonest deadline among the ones still running, else a
    paused one (waiting for the customer), else None."""
    live = [v for v in views if v.state in LIVE_STATES and v.due_at is not None]
    if live:
        return min(live, key=lambda v: v.due_at or datetime.max)
    return next((v for v in views if v.state == "paused"), None)
