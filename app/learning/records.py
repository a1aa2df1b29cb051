"""Reading case histories from the database as the plain records `app.learning.history` judges."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.cases.models import Case, CaseEvent
from app.kernel.refs import format_ref
from app.learning.history import MOVES, CaseRecord, EventRecord
from app.mentions.stored import StoredMention

ROUTING_EVENTS = ("created", "reclassified", *sorted(MOVES))
CHUNK = 1000


def case_records(session: Session, *, start: datetime, end: datetime) -> list[CaseRecord]:
    """The cases opened in [start, end), oldest first, each with its first mention's text and the
    timeline entries that bear on routing (rule decisions, handoffs, reroutes) in order."""
    cases = list(session.execute(
        select(Case.id, Case.created_at, Case.account, Case.status)
        .where(Case.created_at >= start, Case.created_at < end).order_by(Case.created_at, Case.id)))
    texts: dict[int, str] = {}
    events: dict[int, list[EventRecord]] = {}
    ids = [row.id for row in cases]
    for chunk in (ids[i:i + CHUNK] for i in range(0, len(ids), CHUNK)):
        first = (select(func.min(StoredMention.id)).where(StoredMention.case_id.in_(chunk))
                 .group_by(StoredMention.case_id))
        texts.update(session.execute(select(StoredMention.case_id, StoredMention.text)
                                     .where(StoredMention.id.in_(first))).all())
        for case_id, type_, actor_type, data in session.execute(
                select(CaseEvent.case_id, CaseEvent.type, CaseEvent.actor_type, CaseEvent.data)
                .where(CaseEvent.case_id.in_(chunk), CaseEvent.type.in_(ROUTING_EVENTS)).order_by(CaseEvent.id)):
            events.setdefault(case_id, []).append(EventRecord(type_, actor_type, data or {}))
    return [CaseRecord(format_ref(row.id), row.created_at, texts.get(row.id, ""), tuple(events.get(row.id, ())),
                       row.account, row.status) for row in cases]
