"""The SLA sweeper: fires warnings, breaches and escalation steps that have come due.

One batch is one short transaction: the due timers are locked in one statement
(`FOR UPDATE SKIP LOCKED` on PostgreSQL, so sweepers in other processes take other rows; SQLite
has one writer at a time), their firings computed by the pure `plan`, applied in the order they
fell, and written with the timeline and outbox rows before the commit moves the timers' next fire
instant on. So each firing happens once however many processes sweep, and after downtime every
missed warning and breach fires once, in order.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.auth.service import Principal
from app.cases.actions import ActionRequest, perform_action
from app.cases.models import Case
from app.cases.service import PRIORITIES, add_tags, record_event
from app.db import transaction
from app.delivery.outbox import emit
from app.mentions.schema import utc_now
from app.rules import RuleSet
from app.rules.holder import RuleSetHolder
from app.sla.clock import ORDER, Clock, Firing, plan
from app.sla.models import SlaTimer
from app.sla.timers import recompute_timers, refresh, steps_for, summarise_case
from app.web.problems import Problem

log = logging.getLogger(__name__)

ESCALATION = Principal(kind="escalation", name="sla")
BATCH = 1000


def sweep_batch(session: Session, *, ruleset: RuleSet, now: datetime, limit: int = BATCH) -> int:
    """Fire what is due on up to `limit` timers; returns how many timers were claimed."""
    query = (select(SlaTimer).where(SlaTimer.next_fire_at <= now)
             .order_by(SlaTimer.next_fire_at, SlaTimer.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    timers = list(session.scalars(query))
    if not timers:
        return 0
    cases = {c.id: c for c in session.scalars(select(Case).where(Case.id.in_({t.case_id for t in timers})))}
    firings: list[tuple[Firing, SlaTimer]] = []
    for timer in timers:
        calendar, policy = ruleset.calendars.get(timer.calendar), ruleset.policies.get(timer.policy)
        if calendar is None or policy is None:
            log.warning("timer %s names a calendar or policy that is gone; it is left alone", timer.id)
            timer.next_fire_at = None
            continue
        due = plan(calendar, Clock(timer.budget_seconds, timer.elapsed_seconds, timer.run_from),
                   warn_fraction=policy.warn_at, steps=steps_for(policy, timer.kind),
                   warned=timer.warned_at is not None, breached=timer.breached_at is not None,
                   escalations_done=timer.escalations_done, now=now).due
        firings.extend((firing, timer) for firing in due)
    firings.sort(key=lambda ft: (ft[0].at, ORDER[ft[0].what], ft[1].case_id, ft[1].id, ft[0].step or 0))
    for firing, timer in firings:
        if timer.active:  # an earlier escalation (a handoff) may have ended this segment
            _fire(session, cases[timer.case_id], timer, firing, ruleset=ruleset, now=now)
    for timer in timers:
        if timer.active and timer.calendar in ruleset.calendars and timer.policy in ruleset.policies:
            refresh(timer, ruleset.calendars[timer.calendar], ruleset.policies[timer.policy], now=now)
    for case in cases.values():
        summarise_case(session, case)
    session.flush()
    return len(timers)


def sweep_due(sessions: sessionmaker[Session], rules: RuleSetHolder, *, now: datetime | None = None,
              limit: int = BATCH) -> int:
    """Sweep batch after batch, each committed on its own, until nothing is due; returns the
    number of timers handled."""
    total = 0
    while True:
        with transaction(sessions) as session:
            claimed = sweep_batch(session, ruleset=rules.current, now=now or utc_now(), limit=limit)
        total += claimed
        if claimed < limit:
            return total


def _fire(session: Session, case: Case, timer: SlaTimer, firing: Firing, *, ruleset: RuleSet,
          now: datetime) -> None:
    info: dict[str, object] = {"kind": timer.kind, "department": timer.department, "due_at": _iso(timer.due_at),
            "threshold_at": _iso(firing.at)}
    if firing.what == "warning":
        timer.warned_at = now
        record_event(session, case, type="sla_warning", at=now, actor_type="system", actor="sla", data=info)
        emit(session, case, type="sla.warning", now=now, ruleset=ruleset, extra={"timer": info})
    elif firing.what == "breach":
        timer.breached_at = now
        record_event(session, case, type="sla_breached", at=now, actor_type="system", actor="sla", data=info)
        emit(session, case, type="sla.breached", now=now, ruleset=ruleset, extra={"timer": info})
    else:
        _escalate(session, case, timer, firing, info, ruleset=ruleset, now=now)
    timer.state = "breached" if timer.breached_at else ("warned" if timer.warned_at else timer.state)


def _escalate(session: Session, case: Case, timer: SlaTimer, firing: Firing, info: dict[str, object], *,
              ruleset: RuleSet, now: datetime) -> None:
    """One escalation step: raise the priority, tag, hand off, notify; each part recorded."""
    policy = ruleset.policies[timer.policy]
    assert firing.step is not None
    step = steps_for(policy, timer.kind)[firing.step]
    timer.escalations_done = firing.step + 1
    done: dict[str, object] = {"step": firing.step, "after": step.after}
    if step.raise_priority:
        raised = PRIORITIES[max(0, PRIORITIES.index(case.priority) - step.raise_priority)]
        if raised != case.priority:
            record_event(session, case, type="priority_changed", at=now, actor_type="escalation", actor="sla",
                         data={"from": case.priority, "to": raised})
            case.priority = raised
            recompute_timers(session, case, ruleset=ruleset, now=now)
        done["priority"] = case.priority
    if step.tag:
        add_tags(case, [step.tag])
        done["tag"] = step.tag
    record_event(session, case, type="sla_escalated", at=now, actor_type="system", actor="sla",
                 data={**info, **done})
    if step.handoff_to:
        try:
            perform_action(session, case, ActionRequest("handoff", {"department": step.handoff_to,
                                                                    "reason": f"SLA {timer.kind} escalation"}),
                           principal=ESCALATION, ruleset=ruleset, now=now)
            done["handoff_to"] = step.handoff_to
        except Problem as exc:  # e.g. waiting for the customer: a handoff is not allowed now
            record_event(session, case, type="escalation_skipped", at=now, actor_type="system", actor="sla",
                         data={"handoff_to": step.handoff_to, "reason": str(exc)})
    if step.notify:
        emit(session, case, type="sla.escalated", now=now, ruleset=ruleset, extra={"timer": info, "step": done})
    elif step.raise_priority or step.tag:
        emit(session, case, type="case.updated", now=now, ruleset=ruleset,
             extra={"actor": {"type": "escalation", "name": "sla"}, "step": done})


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


class SlaSweeper:
    """Runs `sweep_due` every `interval` seconds as an APScheduler job (one at a time per process;
    missed runs coalesce), until stopped."""

    def __init__(self, sessions: sessionmaker[Session], rules: RuleSetHolder, *, interval: float = 1.0):
        self.sessions = sessions
        self.rules = rules
        self.interval = interval

    def run_job(self) -> None:
        try:
            fired = sweep_due(self.sessions, self.rules)
            if fired:
                log.info("sla sweep", extra={"timers": fired})
        except Exception:  # the database restarting, say: the next run tries again
            log.exception("sla sweep failed")

    async def run_forever(self, stop: asyncio.Event) -> None:
        scheduler = BackgroundScheduler(timezone="UTC")
        scheduler.add_job(self.run_job, "interval", seconds=self.interval, max_instances=1, coalesce=True,
                          next_run_time=utc_now())
        scheduler.start()
        try:
            await stop.wait()
        finally:
            await asyncio.to_thread(scheduler.shutdown, True)
