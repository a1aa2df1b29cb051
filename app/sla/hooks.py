"""What each case event does to the SLA timers: the `timers` handler of `app.cases.changes`.

- created: `first_response` and `resolution` start; `department_ack` too when handed off at once.
- mention_added: `next_response` starts (unless a response timer already runs); reopened (by the
  customer or an agent) starts a new `resolution`; resumed resumes `resolution`.
- responded: stops `first_response` and `next_response` (their goal: met, or breached).
- handed_off / rerouted to another owner (by an agent, a rule or an escalation): the old owner's
  `department_ack` segment ends without its goal (`stopped`, reason `handed_on`); a new one starts
  for a new non-triage owner; `resolution` moves to the new owner's calendar.
- acknowledged: stops `department_ack` (its goal). pending_customer / resumed: pause / resume
  `resolution`.
- resolved: stops `resolution` (its goal) and `department_ack`: its goal too when the owning
  department resolves (it answered), else `stopped` (`resolved`: webcare resolved it for them).
- closed / merged: stop every timer without its goal (`stopped`, reason `closed` / `merged`).
- reopened: a new `resolution` segment. priority_changed, reclassified: every running timer is
  recomputed (once per change).

A timer whose deadline had passed stays `breached` however it ends.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.cases.changes import Change
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


def on_case_changes(session: Session, case: Case, change: Change) -> None:
    """The timers follow `change.events` (the case already shows the change's state). A new case's
    timers are left in `change.timers` for the notices."""
    ruleset, now = change.ruleset, change.now
    if any(event.type == "created" for event in change.events):
        change.timers = on_case_opened(session, case, ruleset=ruleset, now=now)
        return
    touched = recompute = False
    for event in change.events:
        kind = event.type
        if kind == "responded":
            stop_timers(session, case, ["first_response", "next_response"], ruleset=ruleset, now=now)
        elif kind in ("handed_off", "rerouted") and event.data.get("from") != event.data.get("to"):
            stop_timers(session, case, ["department_ack"], ruleset=ruleset, now=now, reason="handed_on")
            if case.department != ruleset.triage_department:
                start_timer(session, case, kind="department_ack", department=case.department, ruleset=ruleset,
                            now=now)
            recompute = True
        elif kind == "acknowledged":
            stop_timers(session, case, ["department_ack"], ruleset=ruleset, now=now)
        elif kind == "pending_customer":
            pause_timers(session, case, ["resolution"], ruleset=ruleset, now=now)
        elif kind == "resumed":
            resume_timers(session, case, ["resolution"], ruleset=ruleset, now=now)
        elif kind == "resolved":
            stop_timers(session, case, ["resolution"], ruleset=ruleset, now=now)
            stop_timers(session, case, ["department_ack"], ruleset=ruleset, now=now,
                        reason=None if event.actor.type == "department" else "resolved")
        elif kind in ("closed", "merged"):
            stop_timers(session, case, ALL, ruleset=ruleset, now=now, reason=kind)
        elif kind == "reopened":
            start_timer(session, case, kind="resolution", department=case.department, ruleset=ruleset, now=now)
        elif kind in ("priority_changed", "reclassified"):
            recompute = True
        elif kind == "mention_added":
            if not active_timers(session, case, ["first_response", "next_response"]):
                start_timer(session, case, kind="next_response", department=ruleset.triage_department,
                            ruleset=ruleset, now=now)
        else:
            continue
        touched = True
    if recompute:
        recompute_timers(session, case, ruleset=ruleset, now=now)
    if touched:
        summarise_case(session, case)
