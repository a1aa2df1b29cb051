"""Writing department events (the transactional outbox) in the same transaction as the change.

Who receives what (SPEC §3): the department that owns the case when the event happens; for
`case.rerouted` and `case.handed_off` also the owner that loses the case (so its own system can
close its ticket); `case.notified` only the departments it names. The triage department gets
events only when it has a webhook subscription (webcare agents work in the queue, not a feed).
A recipient with a webhook whose `events` admit the type also gets a pending delivery.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.cases.changes import Change
from app.cases.events import RULE_NOTICES
from app.cases.models import Case
from app.cases.schemas import case_out
from app.delivery.models import Delivery, DepartmentEvent
from app.kernel.timefmt import iso_z
from app.kernel.vocabulary import CASE_EVENT_TYPES
from app.rules import RuleSet, Webhook
from app.sla.models import SlaTimer

OUTBOX_FLAG = "outbox_written"
"""Set in `session.info` when a delivery is written, so `app.workers` wakes the dispatcher after the commit."""



EVENT_BODY_VERSION = 1
"""The version of the event body's format, in every body: raised only when a field changes meaning
or goes away (adding a field keeps the version), so a department system can refuse what it does not
know instead of misreading it."""


def event_body(case: Case, *, type: str, now: datetime, timers: list[SlaTimer],
               extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The webhook body: `{"type", "version", "timestamp", "data": {"case": <case JSON>, ...extra}}`,
    the case as the API shows it at `now` (its SLA timers included)."""
    data: dict[str, Any] = {"case": case_out(case, timers, now).model_dump(mode="json")}
    data.update(extra or {})
    return {"type": type, "version": EVENT_BODY_VERSION, "timestamp": iso_z(now), "data": data}


def emit(session: Session, case: Case, *, type: str, now: datetime, ruleset: RuleSet,
         also: Iterable[str | None] = (), only: Iterable[str] | None = None,
         extra: dict[str, Any] | None = None, timers: list[SlaTimer] | None = None) -> list[DepartmentEvent]:
    """Record `type` for the case's owner (plus `also`), or for exactly `only`; returns the rows.

    Call after the change is applied to `case`, so the body shows the case as it now is. `timers`
    are the case's SLA timers when the caller holds them all (else they are read).
    """
    if type not in CASE_EVENT_TYPES:
        raise ValueError(f"unknown event type {type}")
    recipients = [d for d in dict.fromkeys(only if only is not None else [case.department, *[d for d in also if d]])
                  if d != ruleset.triage_department or _webhook(ruleset, d) is not None]
    if not recipients:
        return []
    if timers is None:
        session.flush()  # the case's timers as they are now, for the body
        timers = list(session.scalars(select(SlaTimer).where(SlaTimer.case_id == case.id)))
    body = event_body(case, type=type, now=now, timers=timers, extra=extra)
    rows = []
    for department in recipients:
        webhook = _webhook(ruleset, department)
        row = DepartmentEvent(department=department, case_id=case.id, type=type, body=body, created_at=now)
        session.add(row)
        rows.append(row)
        if webhook is not None and (webhook.events is None or type in webhook.events):
            session.info[OUTBOX_FLAG] = True
            session.add(Delivery(event=row, department=department, case_id=case.id, event_type=type,
                                 status="pending", attempts=0, next_attempt_at=now, created_at=now,
                                 updated_at=now))
    return rows


def _webhook(ruleset: RuleSet, department: str) -> Webhook | None:
    config = ruleset.departments.get(department)
    return config.webhook if config is not None else None


def send_notices(session: Session, case: Case, change: Change) -> None:
    """The `notices` handler of `app.cases.changes`: each event's department event, after what
    happened to the case the news of what arrived and who is told (`RULE_NOTICES`)."""
    noticed = [event for event in change.events if event.notice is not None]
    noticed.sort(key=lambda event: event.notice in RULE_NOTICES)
    for event in noticed:
        assert event.notice is not None
        emit(session, case, type=event.notice, now=change.now, ruleset=change.ruleset, also=event.also,
             only=event.only, extra=event.notice_body(), timers=change.timers)
