"""Reading the KPI reports' rows (`app.reports.facts`) from the database. Never commits."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.cases.models import Case, CaseEvent
from app.feedback.models import CaseFeedback
from app.kernel.vocabulary import ACTIVE_STATUSES
from app.mentions.stored import StoredMention
from app.reports.facts import CaseFact, Facts, FeedbackFact, MentionFact, TimerFact
from app.sla.models import SlaTimer

CHUNK = 1000
EVENTS = ("responded", "resolved", "reopened", "rerouted")
GOALS = {"first_response": "responded", "next_response": "responded", "resolution": "resolved"}


def read_facts(session: Session, *, start: datetime, end: datetime) -> Facts:
    """The cases opened in [start, end) with their timers, timeline counts and answers; the mentions
    received in [start, end) (and the cases they belong to); every case not resolved or closed now."""
    opened = set(session.scalars(select(Case.id).where(Case.created_at >= start, Case.created_at < end)))
    mentions = [MentionFact(case_id, at, channel, account) for case_id, at, channel, account in session.execute(
        select(StoredMention.case_id, StoredMention.received_at, StoredMention.channel, StoredMention.account)
        .where(StoredMention.received_at >= start, StoredMention.received_at < end))]
    backlog_ids = set(session.scalars(select(Case.id).where(Case.status.in_(ACTIVE_STATUSES))))
    ids = sorted(opened | {m.case_id for m in mentions} | backlog_ids)
    cases = dict(_cases(session, ids))
    timers: list[TimerFact] = []
    feedback: list[FeedbackFact] = []
    for chunk in _chunks(sorted(opened)):
        goals = _goal_users(session, chunk)
        timers += [TimerFact(t.case_id, t.kind, t.department, t.state, t.stop_reason, t.started_at, t.stopped_at,
                             t.elapsed_seconds, goals.get((t.case_id, t.stopped_at, GOALS.get(t.kind, ""))))
                   for t in session.scalars(select(SlaTimer).where(SlaTimer.case_id.in_(chunk)))]
        feedback += [FeedbackFact(f.case_id, f.score, f.csat, f.department, f.channel, f.agent)
                     for f in session.scalars(select(CaseFeedback).where(CaseFeedback.case_id.in_(chunk)))]
    return Facts(cases=cases, opened_in_window=frozenset(opened), timers=tuple(timers), mentions=tuple(mentions),
                 feedback=tuple(feedback), backlog=tuple(cases[i] for i in sorted(backlog_ids)))


def _cases(session: Session, ids: Sequence[int]) -> Iterator[tuple[int, CaseFact]]:
    for chunk in _chunks(ids):
        timeline: dict[int, list[Any]] = defaultdict(list)
        for row in session.execute(select(CaseEvent.case_id, CaseEvent.type, CaseEvent.actor_type, CaseEvent.actor,
                                          CaseEvent.data)
                                   .where(CaseEvent.case_id.in_(chunk), CaseEvent.type.in_(EVENTS))
                                   .order_by(CaseEvent.at, CaseEvent.id)):
            timeline[row.case_id].append(row)
        for case, assignee in session.execute(select(Case, User.username).outerjoin(User, User.id == Case.assignee_id)
                                              .where(Case.id.in_(chunk))):
            events = timeline[case.id]
            responders = [e.actor for e in events if e.type == "responded" and e.actor_type == "user"]
            yield case.id, CaseFact(
                case.id, case.department, case.channel, case.account, case.status, case.created_at,
                last_responder=responders[-1] if responders else None, assignee=assignee,
                resolved=sum(1 for e in events if e.type == "resolved"),
                reopened=sum(1 for e in events if e.type == "reopened"),
                rerouted_from=tuple(str((e.data or {}).get("from", "")) for e in events if e.type == "rerouted"))


def _goal_users(session: Session, chunk: Sequence[int]) -> dict[tuple[int, datetime | None, str], str | None]:
    """(case, instant, entry type) -> the user whose `responded` / `resolved` entry it is: an
    action writes its entry at the instant it stops the timers."""
    return {(case_id, at, type_): actor for case_id, at, type_, actor in session.execute(
        select(CaseEvent.case_id, CaseEvent.at, CaseEvent.type, CaseEvent.actor)
        .where(CaseEvent.case_id.in_(chunk), CaseEvent.type.in_(("responded", "resolved")),
               CaseEvent.actor_type == "user"))}


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    return (ids[i:i + CHUNK] for i in range(0, len(ids), CHUNK))
