"""SLA timers as the UI shows them: state colour, time left, the nearest deadline (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

LIVE_STATES = ("breached", "warned", "running")


@dataclass(frozen=True)
class TimerView:
    kind: str
    state: str
    due_at: datetime | None  # None while paused or stopped
    department: str | None
    left: str

    @property
    def due_iso(self) -> str:
        return self.due_at.isoformat() if self.due_at else ""


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
        views.append(TimerView(kind=kind, state=str(timer.get("state") or "running"), due_at=due,
                               department=timer.get("department"),
                               left=format_left((due - now).total_seconds()) if due else ""))
    return sorted(views, key=lambda v: (v.due_at is None, v.due_at or now, v.kind))


def nearest_timer(views: list[TimerView]) -> TimerView | None:
    """The timer the queue row shows: the soonest deadline among the ones still running."""
    live = [v for v in views if v.state in LIVE_STATES and v.due_at is not None]
    return min(live, key=lambda v: v.due_at or datetime.max) if live else None
