"""Recording a customer's survey answer on a case. Never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.service import Principal
from app.cases.changes import apply_changes
from app.cases.events import Actor, DomainEvent
from app.cases.models import Case, CaseEvent
from app.feedback.models import CaseFeedback
from app.kernel.timefmt import iso_z
from app.rules import RuleSet


@dataclass(frozen=True, slots=True)
class Answer:
    """What the customer said: `score` 0-10 (would recommend), `csat` 1-5 (satisfied), a comment."""

    score: int
    csat: int | None = None
    comment: str | None = None


def last_responder(session: Session, case: Case) -> str | None:
    """The user who sent the case's last response (None when no user responded)."""
    return session.scalar(select(CaseEvent.actor).where(CaseEvent.case_id == case.id, CaseEvent.type == "responded",
                                                        CaseEvent.actor_type == "user")
                          .order_by(CaseEvent.at.desc(), CaseEvent.id.desc()).limit(1))


def feedback_json(row: CaseFeedback) -> dict[str, Any]:
    """The answer as the API, the timeline and `feedback.received` show it."""
    return {"score": row.score, "csat": row.csat, "comment": row.comment, "agent": row.agent,
            "department": row.department, "channel": row.channel,
            "source": {"type": row.source_type, "name": row.source}, "received_at": iso_z(row.received_at)}


def record_feedback(session: Session, case: Case, answer: Answer, *, principal: Principal, ruleset: RuleSet,
                    now: datetime) -> tuple[CaseFeedback, bool]:
    """Store `answer` as the case's one answer (replacing an earlier one: returns True then), add a
    `feedback_received` timeline entry (which keeps the replaced answer) and send
    `feedback.received` to the owning department. `case` must be locked (`app.cases.locking`)."""
    agent = last_responder(session, case)
    row = session.get(CaseFeedback, case.id)
    replaced = feedback_json(row) if row is not None else None
    if row is None:
        row = CaseFeedback(case_id=case.id)
        session.add(row)
    row.score, row.csat, row.comment = answer.score, answer.csat, answer.comment
    row.department, row.channel, row.agent = case.department, case.channel, agent
    row.source_type, row.source, row.received_at = principal.kind, principal.name, now
    current = feedback_json(row)
    by = Actor(principal.kind, principal.name)
    received = DomainEvent("feedback_received", by, {**current, "replaces": replaced}, notice="feedback.received",
                           notice_data={"actor": by.to_json(), "feedback": current, "replaced": replaced is not None})
    apply_changes(session, case, [received], ruleset=ruleset, now=now)
    session.flush()
    return row, replaced is not None
