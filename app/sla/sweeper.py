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
from typing import Any

from sqlalchemy import case, cast, column, func, insert, select, update, values
from sqlalchemy.orm import Session, sessionmaker

from app.auth.service import Principal
from app.cases.actions import ActionRequest, perform_action
from app.cases.changes import apply_changes
from app.cases.events import Actor, DomainEvent
from app.cases.locking import lock_case_ids
from app.cases.models import Case, CaseEvent
from app.cases.service import add_tags
from app.db import transaction
from app.jobs.leases import run_until_stopped
from app.kernel.clock import utc_now
from app.kernel.errors import DomainError
from app.kernel.timefmt import iso_z, iso_z_or_none
from app.kernel.vocabulary import raised_priority
from app.metrics.counters import count_sla_events
from app.rules import RuleSet
from app.rules.holder import RuleSetHolder
from app.sla.models import SlaTimer
from app.sla.timers import refresh, steps_for
from app.timekeeping.clock import ORDER, Clock, Firing, plan

log = logging.getLogger(__name__)

ESCALATION = Principal(kind="escalation", name="sla")
SLA = Actor("system", "sla")
BATCH = 1000


CLAIM_COLUMNS = (SlaTimer.id, SlaTimer.case_id, SlaTimer.kind, SlaTimer.department, SlaTimer.calendar,
                 SlaTimer.policy, SlaTimer.budget_seconds, SlaTimer.elapsed_seconds, SlaTimer.run_from,
                 SlaTimer.due_at, SlaTimer.warned_at, SlaTimer.breached_at, SlaTimer.escalations_done)
RANK = case((SlaTimer.state == "breached", 3), (SlaTimer.state == "warned", 2), (SlaTimer.state == "running", 1),
            else_=0)


def sweep_batch(session: Session, *, ruleset: RuleSet, now: datetime, limit: int = BATCH,
                fired: list[tuple[str, str, str]] | None = None) -> int:
    """Fire what is due on up to `limit` timers; returns how many timers were handled (fewer than
    `limit` when a case was busy, so `sweep_due` does not spin on it). Each firing is appended to
    `fired` as (timer kind, department, warning|breach|escalation), for the metrics.

    Warnings and breaches (nearly all the work) are written set-based: one locking SELECT, one
    multi-row INSERT of timeline rows, one executemany UPDATE of the timers and one UPDATE of the
    cases' deadline summary. Escalation steps, which act on the case, and outbox events, which
    carry the case as the API shows it, go through the ORM for the few timers that need them.
    """
    query = select(*CLAIM_COLUMNS).where(SlaTimer.next_fire_at <= now).order_by(SlaTimer.next_fire_at,
                                                                                SlaTimer.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = session.execute(query).all()
    if not rows:
        return 0
    # Every firing changes its case: lock the cases, skipping those an action holds now (their
    # timers stay due and fire on the next run), so the sweep never waits while holding timers
    # that the action is about to update.
    locked = lock_case_ids(session, {row.case_id for row in rows}, skip_locked=True)
    rows = [row for row in rows if row.case_id in locked]
    plans = {row.id: _plan(row, ruleset, now) for row in rows}
    # A case with an escalation due has all its timers fired in one ordered pass: a step (a raise,
    # a handoff) changes the case between the other timers' firings.
    escalating_cases = {row.case_id for row in rows if any(f.what == "escalation" for f in plans[row.id][0])}
    escalating = {row.id for row in rows if row.case_id in escalating_cases}
    timeline: list[tuple[tuple[Any, ...], dict[str, object]]] = []
    updates: list[dict[str, object]] = []
    owners_notified: list[tuple[int, int, str, dict[str, object]]] = []
    for row in rows:
        due, next_at = plans[row.id]
        if row.id in escalating:
            continue
        warned_at, breached_at = row.warned_at, row.breached_at
        for firing in due:
            info = _info(row.kind, row.department, row.due_at, firing.at)
            kind = "sla_warning" if firing.what == "warning" else "sla_breached"
            if firing.what == "warning":
                warned_at = now
            else:
                breached_at = now
            if fired is not None:
                fired.append((row.kind, row.department, firing.what))
            timeline.append(((firing.at, ORDER[firing.what], row.case_id, row.id),
                             {"case_id": row.case_id, "type": kind, "actor_type": "system", "actor": "sla",
                              "at": now, "data": info}))
            owners_notified.append((row.case_id, row.id, "sla.warning" if kind == "sla_warning" else "sla.breached",
                                    info))
        state = "breached" if breached_at else ("warned" if warned_at else "running")
        updates.append({"id": row.id, "warned_at": warned_at, "breached_at": breached_at, "state": state,
                        "next_fire_at": next_at})
    _update_timers(session, updates)
    if timeline:
        # Inserted in the order the thresholds fell, so each case's timeline reads in that order;
        # one multi-row statement rather than a row at a time.
        timeline.sort(key=lambda item: item[0])
        session.execute(insert(CaseEvent).values([event for _, event in timeline]))
    _send_outbox(session, owners_notified, ruleset=ruleset, now=now)
    if escalating:
        _fire_through_orm(session, escalating, ruleset=ruleset, now=now, fired=fired)
    _summarise(session, {row.case_id for row in rows}, now=now)
    return len(rows)


def _update_timers(session: Session, updates: list[dict[str, object]]) -> None:
    """Write the timers' new flags: one `UPDATE ... FROM (VALUES ...)` on PostgreSQL, an
    executemany elsewhere."""
    if not updates:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(update(SlaTimer), updates)
        return
    changes = values(column("id", SlaTimer.id.type), column("warned_at", SlaTimer.warned_at.type),
                     column("breached_at", SlaTimer.breached_at.type), column("state", SlaTimer.state.type),
                     column("next_fire_at", SlaTimer.next_fire_at.type), name="changes").data(
        [(u["id"], u["warned_at"], u["breached_at"], u["state"], u["next_fire_at"]) for u in updates])
    # A column that is NULL in every row reaches PostgreSQL untyped: cast it back.
    session.execute(update(SlaTimer).where(SlaTimer.id == changes.c.id).values(
        warned_at=cast(changes.c.warned_at, SlaTimer.warned_at.type),
        breached_at=cast(changes.c.breached_at, SlaTimer.breached_at.type), state=changes.c.state,
        next_fire_at=cast(changes.c.next_fire_at, SlaTimer.next_fire_at.type),
    ).execution_options(synchronize_session=False))


def _plan(row: Any, ruleset: RuleSet, now: datetime) -> tuple[tuple[Firing, ...], datetime | None]:
    """The firings due by `now` and the next threshold after it, for a claimed row or an `SlaTimer`."""
    calendar, policy = ruleset.calendars.get(row.calendar), ruleset.policies.get(row.policy)
    if calendar is None or policy is None:
        log.warning("timer %s names a calendar or policy that is gone; it is left alone", row.id)
        return (), None
    result = plan(calendar, Clock(row.budget_seconds, row.elapsed_seconds, row.run_from),
                  warn_fraction=policy.warn_at, steps=steps_for(policy, row.kind), warned=row.warned_at is not None,
                  breached=row.breached_at is not None, escalations_done=row.escalations_done, now=now)
    return result.due, result.next_at


def _send_outbox(session: Session, notices: list[tuple[int, int, str, dict[str, object]]], *, ruleset: RuleSet,
                 now: datetime) -> None:
    """`sla.warning` / `sla.breached` to each case's owner, for owners that receive events."""
    if not notices:
        return
    receiving = {d for d, dep in ruleset.departments.items()
                 if d != ruleset.triage_department or dep.webhook is not None}
    owners = dict(session.execute(select(Case.id, Case.department)
                                  .where(Case.id.in_({case_id for case_id, *_ in notices}))).all())
    wanted = {case_id for case_id, *_ in notices if owners.get(case_id) in receiving}
    if not wanted:
        return
    cases = {c.id: c for c in session.scalars(select(Case).where(Case.id.in_(wanted)))}
    for case_id, _timer_id, event_type, info in notices:
        if case_id in cases:
            # Already on the timeline (written set-based by sweep_batch): the notice only.
            _apply(session, cases[case_id], _threshold(event_type, info, recorded=False), ruleset=ruleset, now=now)


def _fire_through_orm(session: Session, timer_ids: set[int], *, ruleset: RuleSet, now: datetime,
                      fired: list[tuple[str, str, str]] | None = None) -> None:
    """Timers with an escalation step due: every firing of theirs, in order, with the ORM."""
    timers = list(session.scalars(select(SlaTimer).where(SlaTimer.id.in_(timer_ids))))
    cases = {c.id: c for c in session.scalars(select(Case).where(Case.id.in_({t.case_id for t in timers})))}
    firings: list[tuple[Firing, SlaTimer]] = []
    for timer in timers:
        due, _ = _plan(timer, ruleset, now)  # a timer has the attributes of a claimed row
        firings.extend((firing, timer) for firing in due)
    firings.sort(key=lambda ft: (ft[0].at, ORDER[ft[0].what], ft[1].case_id, ft[1].id, ft[0].step or 0))
    for firing, timer in firings:
        if timer.active:  # an earlier escalation (a handoff) may have ended this segment
            if fired is not None:
                fired.append((timer.kind, timer.department, firing.what))
            _fire(session, cases[timer.case_id], timer, firing, ruleset=ruleset, now=now)
    for timer in timers:
        if timer.active and timer.calendar in ruleset.calendars and timer.policy in ruleset.policies:
            refresh(timer, ruleset.calendars[timer.calendar], ruleset.policies[timer.policy], now=now)
    session.flush()


def _summarise(session: Session, case_ids: set[int], *, now: datetime) -> None:
    """One UPDATE: each case's nearest running deadline and worst timer state, and `updated_at`.
    (A case left with no active timer got there through an action, which summarised it.)"""
    summary = (select(SlaTimer.case_id, func.min(SlaTimer.due_at).label("due_at"),
                      func.max(RANK).label("worst"))
               .where(SlaTimer.case_id.in_(case_ids), SlaTimer.active.is_(True))
               .group_by(SlaTimer.case_id).subquery())
    worst = summary.c.worst
    session.execute(
        update(Case).where(Case.id == summary.c.case_id).values(
            due_at=summary.c.due_at,
            sla_state=case((worst == 3, "breached"), (worst == 2, "warned"), (worst == 1, "running"),
                           else_="paused"),
            updated_at=case((Case.updated_at < now, now), else_=Case.updated_at),
        ).execution_options(synchronize_session=False)
    )
    session.expire_all()  # ORM objects loaded above must not keep the values this statement replaced


def _info(kind: str, department: str, due_at: datetime | None, at: datetime) -> dict[str, object]:
    return {"kind": kind, "department": department, "due_at": iso_z_or_none(due_at), "threshold_at": iso_z(at)}


def sweep_due(sessions: sessionmaker[Session], rules: RuleSetHolder, *, now: datetime | None = None,
              limit: int = BATCH) -> int:
    """Sweep batch after batch, each committed on its own, until nothing is due; returns the
    number of timers handled."""
    total = 0
    while True:
        fired: list[tuple[str, str, str]] = []
        with transaction(sessions) as session:
            claimed = sweep_batch(session, ruleset=rules.current, now=now or utc_now(), limit=limit, fired=fired)
        count_sla_events(fired)  # committed
        total += claimed
        if claimed < limit:
            return total


def _fire(session: Session, case: Case, timer: SlaTimer, firing: Firing, *, ruleset: RuleSet,
          now: datetime) -> None:
    info = _info(timer.kind, timer.department, timer.due_at, firing.at)
    if firing.what == "warning":
        timer.warned_at = now
        _apply(session, case, _threshold("sla.warning", info, recorded=True), ruleset=ruleset, now=now)
    elif firing.what == "breach":
        timer.breached_at = now
        _apply(session, case, _threshold("sla.breached", info, recorded=True), ruleset=ruleset, now=now)
    else:
        _escalate(session, case, timer, firing, info, ruleset=ruleset, now=now)
    timer.state = "breached" if timer.breached_at else ("warned" if timer.warned_at else timer.state)


def _threshold(notice: str, info: dict[str, object], *, recorded: bool) -> DomainEvent:
    """A warning (`sla.warning`) or breach (`sla.breached`): the timeline's `sla_warning` /
    `sla_breached` entry (unless `recorded` is False: written set-based already) and the owner's
    notice with `{"timer": ...}` beside the case."""
    kind = "sla_warning" if notice == "sla.warning" else "sla_breached"
    return DomainEvent(kind, SLA, info, recorded=recorded, notice=notice, notice_data={"timer": info})


def _apply(session: Session, case: Case, *events: DomainEvent, ruleset: RuleSet, now: datetime) -> None:
    apply_changes(session, case, events, ruleset=ruleset, now=now)


def _escalate(session: Session, case: Case, timer: SlaTimer, firing: Firing, info: dict[str, object], *,
              ruleset: RuleSet, now: datetime) -> None:
    """One escalation step: raise the priority, tag, hand off, notify; each part recorded."""
    policy = ruleset.policies[timer.policy]
    assert firing.step is not None
    step = steps_for(policy, timer.kind)[firing.step]
    timer.escalations_done = firing.step + 1
    done: dict[str, object] = {"step": firing.step, "after": step.after}
    events = []
    if step.raise_priority:
        raised = raised_priority(case.priority, step.raise_priority)
        if raised != case.priority:  # the timers are recomputed for it (app.sla.hooks)
            events.append(DomainEvent("priority_changed", Actor("escalation", "sla"),
                                      {"from": case.priority, "to": raised}))
            case.priority = raised
        done["priority"] = case.priority
    if step.tag:
        add_tags(case, [step.tag])
        done["tag"] = step.tag
    events.append(DomainEvent("sla_escalated", SLA, {**info, **done}))
    _apply(session, case, *events, ruleset=ruleset, now=now)
    if step.handoff_to:
        try:
            perform_action(session, case, ActionRequest("handoff", {"department": step.handoff_to,
                                                                    "reason": f"SLA {timer.kind} escalation"}),
                           principal=ESCALATION, ruleset=ruleset, now=now)
            done["handoff_to"] = step.handoff_to
        except DomainError as exc:  # e.g. waiting for the customer: a handoff is not allowed now
            _apply(session, case, DomainEvent("escalation_skipped", SLA,
                                              {"handoff_to": step.handoff_to, "reason": str(exc)}),
                   ruleset=ruleset, now=now)
    if step.notify:
        _apply(session, case, DomainEvent("sla_escalated", SLA, recorded=False, notice="sla.escalated",
                                          notice_data={"timer": info, "step": done}), ruleset=ruleset, now=now)
    elif step.raise_priority or step.tag:
        _apply(session, case, DomainEvent("sla_escalated", SLA, recorded=False, notice="case.updated",
                                          notice_data={"actor": {"type": "escalation", "name": "sla"},
                                                       "step": done}), ruleset=ruleset, now=now)


class SlaSweeper:
    """Runs `sweep_due` every `interval` seconds (`app.jobs.leases.run_until_stopped`: at once again
    while it finds due timers), on a thread so the event loop never waits on the database, until stopped."""

    def __init__(self, sessions: sessionmaker[Session], rules: RuleSetHolder, *, interval: float = 1.0):
        self.sessions = sessions
        self.rules = rules
        self.interval = interval

    def _sweep(self) -> int:
        fired = sweep_due(self.sessions, self.rules)
        if fired:
            log.info("sla sweep", extra={"timers": fired})
        return fired

    async def run_forever(self, stop: asyncio.Event) -> None:
        await run_until_stopped(stop, lambda: asyncio.to_thread(self._sweep), idle_seconds=self.interval,
                                name="sla sweep")
