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

from sqlalchemy.orm import Session

from app.cases.models import Case
from app.cases.schemas import case_out
from app.delivery.models import Delivery, DepartmentEvent
from app.rules import RuleSet

EVENT_TYPES = ("case.handed_off", "case.updated", "case.mention_added", "case.rerouted", "case.resolved",
               "case.closed", "case.reopened", "case.notified", "sla.warning", "sla.breached", "sla.escalated")


def event_body(case: Case, *, type: str, now: datetime, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The webhook body: `{"type", "timestamp", "data": {"case": <case JSON>, ...extra}}`."""
    data: dict[str, Any] = {"case": case_out(case).model_dump(mode="json")}
    data.update(extra or {})
    return {"type": type, "timestamp": now.isoformat().replace("+00:00", "Z"), "data": data}


def emit(session: Session, case: Case, *, type: str, now: datetime, ruleset: RuleSet,
         also: Iterable[str | None] = (), only: Iterable[str] | None = None,
         extra: dict[str, Any] | None = None) -> list[DepartmentEvent]:
    """Record `type` for the case's owner (plus `also`), or for exactly `only`; returns the rows.

    Call after the change is applied to `case`, so the body shows the case as it now is.
    """
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type}")
    recipients = list(dict.fromkeys(only if only is not None else [case.department, *[d for d in also if d]]))
    body = event_body(case, type=type, now=now, extra=extra)
    rows = []
    for department in recipients:
        config = ruleset.departments.get(department)
        webhook = config.webhook if config is not None else None
        if department == ruleset.triage_department and webhook is None:
            continue
        row = DepartmentEvent(department=department, case_id=case.id, type=type, body=body, created_at=now)
        session.add(row)
        rows.append(row)
        if webhook is not None and (webhook.events is None or type in webhook.events):
            session.info["outbox_written"] = True  # app.workers wakes the dispatcher after the commit
            session.add(Delivery(event=row, department=department, case_id=case.id, event_type=type,
                                 status="pending", attempts=0, next_attempt_at=now, created_at=now,
                                 updated_at=now))
    return rows
