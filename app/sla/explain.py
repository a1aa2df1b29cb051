"""What the SLA timers of a case would do (SPEC §4 `webcare sla explain`): per timer the calendar
that applies, the deadline, the warning, the escalation steps and the open stretches it runs
through. Pure: the rule set, the opening instant and the pauses are passed in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from app.kernel.timefmt import iso_z
from app.kernel.vocabulary import PRIORITIES
from app.rules.model import RuleSet
from app.timekeeping.businesstime import Pause, Span, advance_with_pauses, budget_time, open_spans_between
from app.timekeeping.calendar import Calendar
from app.timekeeping.policy import TIMERS, Duration, EscalationStep, SlaPolicy


class SlaExplainError(ValueError):
    """An unknown policy, priority or department; the message names what is known."""


@dataclass(frozen=True, slots=True)
class TimerPlan:
    """One timer of a case opened at `start`. `spans` are the open stretches it runs through
    (outside pauses); `steps` pairs each escalation step of this timer with when it fires."""

    timer: str
    duration: Duration
    calendar: Calendar
    start: datetime
    due: datetime
    warning: datetime
    steps: tuple[tuple[EscalationStep, datetime], ...]
    spans: tuple[Span, ...]


@dataclass(frozen=True, slots=True)
class SlaExplanation:
    policy: SlaPolicy
    priority: str
    department: str
    opened_at: datetime
    pauses: tuple[tuple[datetime, datetime], ...]
    timers: tuple[TimerPlan, ...]
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """SPEC §4's shape: `{"timers": {"<timer>": {"due_at", "due_local", "calendar", "intervals"}}}`
        plus the warning, the escalation steps and the inputs."""
        return {
            "policy": self.policy.name, "priority": self.priority, "department": self.department,
            "opened_at": iso_z(self.opened_at),
            "paused": [{"from": iso_z(f), "to": iso_z(t)} for f, t in self.pauses],
            "timers": {p.timer: _timer_json(p) for p in self.timers},
            "notes": list(self.notes),
        }


def timer_calendar(ruleset: RuleSet, policy: SlaPolicy, timer: str, department: str) -> str:
    """The calendar a timer runs on (SPEC §1): `first_response` and `next_response` on the triage
    department's, `department_ack` on the receiving department's (`department`), `resolution` on the
    policy's own calendar if it names one, else on the owning department's (`department`)."""
    if timer in ("first_response", "next_response"):
        return ruleset.departments[ruleset.triage_department].calendar
    if timer == "resolution" and policy.calendar is not None:
        return policy.calendar
    return ruleset.departments[department].calendar


def explain_sla(ruleset: RuleSet, *, policy: str, priority: str, department: str, opened_at: datetime,
                pauses: Sequence[tuple[datetime, datetime]] = ()) -> SlaExplanation:
    """The timers of a case opened at `opened_at` with this policy and priority, owned by
    `department`. Pauses (`pending_customer`) hold `resolution` only. A case that stays with the
    triage department has no handoff, so no `department_ack`. Raises SlaExplainError for unknown
    names, NeverOpenError for a calendar that does not open."""
    chosen = ruleset.policies.get(policy)
    if chosen is None:
        raise SlaExplainError(f"unknown policy '{policy}' (known: {', '.join(sorted(ruleset.policies))})")
    if priority not in PRIORITIES:
        raise SlaExplainError(f"unknown priority '{priority}' (known: {', '.join(PRIORITIES)})")
    if department not in ruleset.departments:
        raise SlaExplainError(f"unknown department '{department}' (known: {', '.join(sorted(ruleset.departments))})")
    plans: list[TimerPlan] = []
    notes: list[str] = []
    for timer in TIMERS:
        if timer == "department_ack" and department == ruleset.triage_department:
            notes.append(f"department_ack: not started; a case that stays with the triage department "
                         f"'{department}' is not handed off")
            continue
        calendar = ruleset.calendars[timer_calendar(ruleset, chosen, timer, department)]
        plans.append(_plan(chosen, timer, priority, calendar, opened_at,
                           tuple(pauses) if timer == "resolution" else ()))
    if pauses:
        notes.append("pauses hold resolution only (pending_customer)")
    return SlaExplanation(chosen, priority, department, opened_at.astimezone(UTC),
                          tuple((f.astimezone(UTC), t.astimezone(UTC)) for f, t in pauses), tuple(plans),
                          tuple(notes))


def _plan(policy: SlaPolicy, timer: str, priority: str, calendar: Calendar, start: datetime,
          pauses: tuple[Pause, ...]) -> TimerPlan:
    duration = policy.duration(timer, priority)
    budget = budget_time(calendar, start, duration)

    def at(fraction: float) -> datetime:
        # Pauses are closed here, so every point exists.
        point = advance_with_pauses(calendar, start, budget * fraction, pauses)
        assert point is not None
        return point

    due = at(1.0)
    steps = tuple((step, at(step.after)) for step in policy.escalation if step.timer == timer)
    return TimerPlan(timer, duration, calendar, start.astimezone(UTC), due, at(policy.warn_at), steps,
                     _minus_pauses(open_spans_between(calendar, start, due), pauses))


def _minus_pauses(spans: tuple[Span, ...], pauses: tuple[Pause, ...]) -> tuple[Span, ...]:
    out = list(spans)
    for p_from, p_to in pauses:
        end = p_to or datetime.max.replace(tzinfo=UTC)
        out = [piece for s, e in out for piece in ((s, min(e, p_from)), (max(s, end), e)) if piece[0] < piece[1]]
    return tuple(out)


def local_text(instant: datetime, calendar: Calendar) -> str:
    """ISO 8601 in the calendar's time zone, with its offset."""
    return instant.astimezone(calendar.tz).isoformat()


def duration_text(length: timedelta) -> str:
    """`1h30m`, `45m`, `2h`, `30s`: how long an open stretch is."""
    seconds = int(length.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else "", f"{secs}s" if secs else ""]
    return "".join(parts) or "0s"


def step_actions(step: EscalationStep) -> dict[str, Any]:
    """The actions an escalation step takes, as written in sla.yaml."""
    actions: dict[str, Any] = {}
    if step.raise_priority is not None:
        actions["raise_priority"] = step.raise_priority
    if step.handoff_to is not None:
        actions["handoff_to"] = step.handoff_to
    if step.tag is not None:
        actions["tag"] = step.tag
    if step.notify:
        actions["notify"] = True
    return actions


def _timer_json(plan: TimerPlan) -> dict[str, Any]:
    cal = plan.calendar
    return {
        "duration": str(plan.duration),
        "calendar": cal.name,
        "timezone": cal.timezone,
        "due_at": iso_z(plan.due),
        "due_local": local_text(plan.due, cal),
        "warning_at": iso_z(plan.warning),
        "warning_local": local_text(plan.warning, cal),
        "escalation": [{"after": percent_text(step.after), "at": iso_z(when), "local": local_text(when, cal),
                        "actions": step_actions(step)} for step, when in plan.steps],
        "intervals": [{"from": iso_z(s), "to": iso_z(e), "from_local": local_text(s, cal),
                       "to_local": local_text(e, cal), "open_seconds": int((e - s).total_seconds())}
                      for s, e in plan.spans],
    }


def percent_text(fraction: float) -> str:
    """0.75 as `75%`, 1.5 as `150%`."""
    return f"{fraction * 100:g}%"
