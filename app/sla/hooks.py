"""What each case event does to the SLA timers (DESIGN "Case life cycle", Timers).

- opened: `first_response` and `resolution` start; `department_ack` too when handed off at once.
- a customer mention: `next_response` starts (unless a response timer already runs); a resolved
  case reopened by it starts a new `resolution`; a `pending_customer` case resumes `resolution`.
- respond: stops `first_response` and `next_response` (their goal: met, or breached).
- handoff / reroute / escalation handoff: the old owner's `department_ack` segment ends without its
  goal (`stopped`, reason `handed_on`); a new one starts for a new non-triage owner; `resolution`
  moves to the new owner's calendar.
- acknowledge: stops `department_ack` (its goal). pending-customer / resume: pause / resume `resolution`.
- resolve: stops `resolution` (its goal) and `department_ack`: its goal too when the owning
  department resolves (it answered), else `stopped` (`resolved`: webcare resolved it for them).
- close / merge: stop every timer without its goal (`stopped`, reason `closed` / `merged`).

A timer whose deadline had passed stays `breached` however it ends.
- reopen: a new `resolution` segment. priority: every running timer is recomputed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.cases.models import Case
from app.rules import RuleSet
from app.sla.models import SlaTimer
from app.sla.timers import (
    active_timers,
    apply_summary,
    pause_timers,
    recompute_timers,
    resume_timers,
    start_timer,
    stop_timers,
    summarise_case,
)

ALL = ("first_response", "next_response", "department_ack", "resolution")


def on_case_opened(session: Session, case: Case, *, ruleset: RuleSet, now: datetime) -> list[SlaTimer]:
    """Start a new case's timers; returns them (they are all it has, so nothing is read back)."""
    timers = [start_timer(session, case, kind="first_response", department=ruleset.triage_department,
                          ruleset=ruleset, now=now),
              start_timer(session, case, kind="resolution", department=case.department, ruleset=ruleset, now=now)]
    if case.department != ruleset.triage_department:
        timers.append(start_timer(session, case, kind="department_ack", department=case.department,
                                  ruleset=ruleset, now=now))
    apply_summary(case, (t.due_at for t in timers if t.due_at is not None), (t.state for t in timers))
    return timers


def on_customer_mention(session: Session, case: Case, *, reopened: bool, resumed: bool, priority_changed: bool,
                        ruleset: RuleSet, now: datetime) -> None:
    if reopened:
        start_timer(session, case, kind="resolution", department=case.department, ruleset=ruleset, now=now)
    if resumed:
        resume_timers(session, case, ["resolution"], ruleset=ruleset, now=now)
    if priority_changed:
        recompute_timers(session, case, ruleset=ruleset, now=now)
    if not active_timers(session, case, ["first_response", "next_response"]):
        start_timer(session, case, kind="next_response", department=ruleset.triage_department, ruleset=ruleset,
                    now=now)
    summarise_case(session, case)


def on_action(session: Session, case: Case, action: str, *, owner_changed: bool, ruleset: RuleSet,
              now: datetime, by_department: bool = False) -> None:
    """Apply `action`'s effect on the timers; the case already shows the action's result.
    `by_department`: the owning department's system took the action (not webcare)."""
    if action == "respond":
        stop_timers(session, case, ["first_response", "next_response"], ruleset=ruleset, now=now)
    elif action in ("handoff", "reroute") and owner_changed:
        stop_timers(session, case, ["department_ack"], ruleset=ruleset, now=now, reason="handed_on")
        if case.department != ruleset.triage_department:
            start_timer(session, case, kind="department_ack", department=case.department, ruleset=ruleset, now=now)
        recompute_timers(session, case, ruleset=ruleset, now=now)
    elif action == "acknowledge":
        stop_timers(session, case, ["department_ack"], ruleset=ruleset, now=now)
    elif action == "pending-customer":
        pause_timers(session, case, ["resolution"], ruleset=ruleset, now=now)
    elif action == "resume":
        resume_timers(session, case, ["resolution"], ruleset=ruleset, now=now)
    elif action == "resolve":
        stop_timers(session, case, ["resolution"], ruleset=ruleset, now=now)
        stop_timers(session, case, ["department_ack"], ruleset=ruleset, now=now,
                    reason=None if by_department else "resolved")
    elif action in ("close", "merge"):
        stop_timers(session, case, ALL, ruleset=ruleset, now=now, reason="closed" if action == "close" else "merged")
    elif action == "reopen":
        start_timer(session, case, kind="resolution", department=case.department, ruleset=ruleset, now=now)
    elif action == "priority":
        recompute_timers(session, case, ruleset=ruleset, now=now)
    summarise_case(session, case)
