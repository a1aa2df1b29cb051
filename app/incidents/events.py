"""`incident.opened` / `incident.updated` / `incident.closed` for the departments that subscribe.

Only departments whose webhook `events` name the type receive it (a subscription without `events`
keeps receiving case events only, so a receiver written before incidents existed never meets a
body without a case). The rows are the same outbox rows as case events (feed and webhook), written
in the caller's transaction; they hang on the incident's first case, so one incident's events are
delivered in order. The body names no case: a department sees only the cases it owns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.delivery.models import Delivery, DepartmentEvent
from app.delivery.outbox import EVENT_BODY_VERSION, OUTBOX_FLAG
from app.incidents.models import Incident
from app.kernel.timefmt import iso_z, iso_z_or_none
from app.kernel.vocabulary import INCIDENT_EVENTS
from app.rules import RuleSet


def incident_json(incident: Incident, case_count: int) -> dict[str, Any]:
    """The incident as the API and the events show it (without its cases)."""
    return {
        "id": incident.id, "watch": incident.watch, "title": incident.title, "status": incident.status,
        "opened_at": iso_z(incident.opened_at), "last_hot_at": iso_z(incident.last_hot_at),
        "closed_at": iso_z_or_none(incident.closed_at), "closed_by": incident.closed_by,
        "usual": round(incident.usual, 3), "needed": incident.needed, "peak": incident.peak,
        "case_count": case_count,
    }


def subscribers(ruleset: RuleSet, event_type: str) -> list[str]:
    """The departments whose webhook `events` name `event_type`, in departments.yaml order."""
    return [d.id for d in ruleset.departments.values()
            if d.webhook is not None and d.webhook.events is not None and event_type in d.webhook.events]


def emit_incident(session: Session, incident: Incident, *, type: str, case_count: int, lead_case_id: int,
                  ruleset: RuleSet, now: datetime) -> list[DepartmentEvent]:
    """Record `type` for every subscriber, each with a pending webhook delivery; returns the rows."""
    if type not in INCIDENT_EVENTS:
        raise ValueError(f"unknown incident event type {type}")
    body = {"type": type, "version": EVENT_BODY_VERSION, "timestamp": iso_z(now),
            "data": {"incident": incident_json(incident, case_count)}}
    rows = []
    for department in subscribers(ruleset, type):
        row = DepartmentEvent(department=department, case_id=lead_case_id, type=type, body=body, created_at=now)
        session.add(row)
        session.add(Delivery(event=row, department=department, case_id=lead_case_id, event_type=type,
                             status="pending", attempts=0, next_attempt_at=now, created_at=now, updated_at=now))
        session.info[OUTBOX_FLAG] = True
        rows.append(row)
    return rows
