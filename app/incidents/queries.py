"""Reading incidents for the pages that show them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.incidents.models import Incident
from app.incidents.service import case_counts


@dataclass(frozen=True)
class OpenIncident:
    """An open incident and how many cases it groups (the queue's banner and grouped row)."""

    incident: Incident
    case_count: int


def open_incidents(session: Session) -> list[OpenIncident]:
    """Every open incident, oldest first, with its case count."""
    rows = list(session.scalars(select(Incident).where(Incident.status == "open").order_by(Incident.opened_at)))
    counts = case_counts(session, [r.id for r in rows])
    return [OpenIncident(r, counts.get(r.id, 0)) for r in rows]
