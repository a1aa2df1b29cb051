"""Starting, stopping, pausing and recomputing a case's SLA timers (DESIGN "Case life cycle").

Which calendar a timer runs on (SPEC §1): `first_response` and `next_response` on the triage
department's, `department_ack` on the receiving department's, `resolution` on the policy's calendar
if it names one, else the owning department's. A change of priority, policy or owner recomputes
the deadlines of the running timers and keeps the open time they have used. Never commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.cases.models import Case
from app.rules import RuleSet
from app.sla.explain import timer_calendar
from app.sla.models import STOP_REASONS, SlaTimer
from app.timekeeping.businesstime import budget_seconds
from app.timekeeping.calendar import Calendar
from app.timekeeping.clock import Clock, plan
from app.timekeeping.policy import EscalationStep, SlaPolicy

WORST = {"breached": 3, "warned": 2, "running": 1, "paused": 0}


def timers_of(session: Session, case_ids: Sequence[int]) -> dict[int, list[SlaTimer]]:
    """Every timer segment of the given cases, by case id (the case JSON shows them)."""
    found: dict[int, list[SlaTimer]] = {case_id: [] for case_id in case_ids}
    if case_ids:
        for timer in session.scalars(select(SlaTimer).where(SlaTimer.case_id.in_(list(case_ids)))):
            found[timer.case_id].append(timer)
    return found


def active_timers(session: Session, case: Case, kinds: Iterable[str] | None = None) -> list[SlaTimer]:
    query = select(SlaTimer).where(SlaTimer.case_id == case.id, SlaTimer.active.is_(True))
    if kinds is not None:
        query = query.where(SlaTimer.kind.in_(list(kinds)))
    return list(session.scalars(query.order_by(SlaTimer.id)))


def start_timer(session: Session, case: Case, *, kind: str, department: str, ruleset: RuleSet,
                now: datetime) -> SlaTimer:
    """A new running segment of `kind` from `now`, budgeted by the case's policy and priority."""
    policy = ruleset.policies[case.sla_policy]
    calendar_name = timer_calendar(ruleset, policy, kind, department)
    calendar = ruleset.calendars[calendar_name]
    timer = SlaTimer(case_id=case.id, kind=kind, department=department, calendar=calendar_name,
                     policy=policy.name, priority=case.priority, active=True, state="running", started_at=now,
                     budget_seconds=budget_seconds(calendar, now, policy.duration(kind, case.priority)),
                     elapsed_seconds=0.0, run_from=now, escalations_done=0)
    refresh(timer, calendar, policy, now=now)
    session.add(timer)
    return timer


def stop_timers(session: Session, case: Case, kinds: Iterable[str], *, ruleset: RuleSet, now: datetime,
                reason: str | None = None) -> None:
    """End the active segments of `kinds`. Without `reason` their goal was reached: each is `met`,
    or `breached` if its deadline had passed. With a `reason` (one of `STOP_REASONS`: handed on,
    closed, merged, resolved by someone else) they ended without their goal: `stopped`, or still
    `breached` if the deadline had passed first (a missed deadline is not undone by ending the timer)."""
    if reason is not None and reason not in STOP_REASONS:
        raise ValueError(f"unknown stop reason {reason!r}")
    for timer in active_timers(session, case, kinds):
        calendar = ruleset.calendars.get(timer.calendar)
        if calendar is not None:
            timer.elapsed_seconds = _clock(timer).used(calendar, now)
        timer.run_from = None
        if timer.breached_at is None and timer.elapsed_seconds > timer.budget_seconds:
            # The deadline passed before the sweeper got to it: the goal came late, not in time.
            timer.breached_at = timer.due_at or now
        timer.active = False
        timer.stopped_at = now
        timer.next_fire_at = None
        timer.stop_reason = reason
        timer.state = state_of(timer)


def pause_timers(session: Session, case: Case, kinds: Iterable[str], *, ruleset: RuleSet, now: datetime) -> None:
    """Stop the clocks of `kinds` without ending them; the used time is kept."""
    for timer in active_timers(session, case, kinds):
        if timer.run_from is None:
            continue
        timer.elapsed_seconds = _clock(timer).used(ruleset.calendars[timer.calendar], now)
        timer.run_from = None
        timer.due_at = timer.warn_at = timer.next_fire_at = None
        timer.state = "paused"


def resume_timers(session: Session, case: Case, kinds: Iterable[str], *, ruleset: RuleSet, now: datetime) -> None:
    """Run paused timers of `kinds` again from `now`."""
    for timer in active_timers(session, case, kinds):
        if timer.run_from is None:
            timer.run_from = now
            refresh(timer, ruleset.calendars[timer.calendar], ruleset.policies[timer.policy], now=now)


def recompute_timers(session: Session, case: Case, *, ruleset: RuleSet, now: datetime) -> None:
    """After a change of priority, policy or owner: each active timer keeps the open time it has
    used (on its old calendar), moves to the calendar that now applies and gets the budget of the
    case's current policy and priority; deadlines and warnings follow."""
    policy = ruleset.policies[case.sla_policy]
    for timer in active_timers(session, case):
        old = ruleset.calendars.get(timer.calendar)
        if old is not None and timer.run_from is not None:
            timer.elapsed_seconds = _clock(timer).used(old, now)
            timer.run_from = now
        if timer.kind == "resolution":
            timer.department = case.department  # resolution follows the owner
        timer.calendar = timer_calendar(ruleset, policy, timer.kind, timer.department)
        calendar = ruleset.calendars[timer.calendar]
        timer.policy, timer.priority = policy.name, case.priority
        timer.budget_seconds = budget_seconds(calendar, timer.started_at, policy.duration(timer.kind, case.priority))
        refresh(timer, calendar, policy, now=now)


def refresh(timer: SlaTimer, calendar: Calendar, policy: SlaPolicy, *, now: datetime) -> None:
    """Recompute `due_at`, `warn_at`, `next_fire_at` and `state` from the timer's clock."""
    clock = _clock(timer)
    timer.due_at = clock.at_fraction(calendar, 1.0)
    timer.warn_at = clock.at_fraction(calendar, policy.warn_at)
    steps = steps_for(policy, timer.kind)
    upcoming = plan(calendar, clock, warn_fraction=policy.warn_at, steps=steps, warned=timer.warned_at is not None,
                    breached=timer.breached_at is not None, escalations_done=timer.escalations_done, now=now)
    timer.next_fire_at = upcoming.due[0].at if upcoming.due else upcoming.next_at
    timer.state = state_of(timer)


def state_of(timer: SlaTimer) -> str:
    """running, paused, warned or breached while active; once ended: breached if its deadline
    passed, else met when its goal was reached (no `stop_reason`), stopped when it was not."""
    if not timer.active:
        if timer.breached_at is not None:
            return "breached"
        return "stopped" if timer.stop_reason is not None else "met"
    if timer.breached_at is not None:
        return "breached"
    if timer.run_from is None:
        return "paused"
    return "warned" if timer.warned_at is not None else "running"


def steps_for(policy: SlaPolicy, kind: str) -> tuple[EscalationStep, ...]:
    """The policy's escalation steps for one timer kind, in their listed order."""
    return tuple(step for step in policy.escalation if step.timer == kind)


def summarise_case(session: Session, case: Case) -> None:
    """Keep the case's `due_at` (nearest deadline of a running timer) and `sla_state` (the worst
    state of its active timers) current: the queue sorts and filters on them."""
    summarise_cases(session, [case])


def summarise_cases(session: Session, cases: Iterable[Case]) -> None:
    """`summarise_case` for many cases with one query."""
    by_id = {case.id: case for case in cases}
    if not by_id:
        return
    session.flush()
    due: dict[int, list[datetime]] = {case_id: [] for case_id in by_id}
    states: dict[int, list[str]] = {case_id: [] for case_id in by_id}
    rows = session.execute(select(SlaTimer.case_id, SlaTimer.due_at, SlaTimer.state)
                           .where(SlaTimer.case_id.in_(list(by_id)), SlaTimer.active.is_(True)))
    for case_id, due_at, state in rows:
        if due_at is not None:
            due[case_id].append(due_at)
        states[case_id].append(state)
    for case_id, case in by_id.items():
        apply_summary(case, due[case_id], states[case_id])


def apply_summary(case: Case, due: Iterable[datetime], states: Iterable[str]) -> None:
    """Set the case's `due_at` and `sla_state` from its active timers' deadlines and states."""
    due, states = list(due), list(states)
    case.due_at = min(due) if due else None
    case.sla_state = max(states, key=lambda s: WORST.get(s, 0)) if states else None


def _clock(timer: SlaTimer) -> Clock:
    return Clock(budget=timer.budget_seconds, elapsed=timer.elapsed_seconds, run_from=timer.run_from)
