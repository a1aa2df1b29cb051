"""Erasure and export of what is stored about one author (AVG/GDPR articles 15 and 17). Service
functions: they take the session, lock what they change, may flush, never commit.

An author is named by a connector (or a channel) and their platform id or handle (`AuthorRef`).
Erasure blanks their mentions everywhere they were copied (`app.privacy.blanking`), anonymises the
cases they opened, drops stored idempotent answers that hold their data, and retrains the
suggested-department model without them. It is recorded without the personal data: a timeline
entry on each case touched and an audit entry, each with counts only. Erasing again finds nothing
and changes nothing (all counts 0).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.orm import Session

from app.audit import record
from app.auth.models import IdempotencyKey
from app.auth.service import Principal
from app.cases.locking import lock_case_ids
from app.cases.models import Case, CaseEvent
from app.cases.schemas import case_detail_out, mention_out
from app.delivery.models import DepartmentEvent
from app.feedback.models import CaseFeedback
from app.ingest.models import InboundDeadLetter
from app.kernel.refs import format_ref
from app.learning.department_model import NAME as MODEL_NAME
from app.learning.department_model import refresh_department_model
from app.learning.models import RoutingModel
from app.mentions.stored import StoredMention
from app.privacy.blanking import ERASED, anonymise_case, erase_dead_letters_holding, erase_mentions
from app.privacy.redact import body_mentions_any, handle_forms, mentions_any, non_empty
from app.replies.models import PlatformReply
from app.sla.models import SlaTimer

log = logging.getLogger(__name__)

ERASURE_EVENT = "privacy_erased"
"""The timeline entry an erasure leaves on each case it touched: who asked, when, counts only."""


@dataclass(frozen=True)
class AuthorRef:
    """One author: on `connector` (or, across connectors, on `channel`), with platform id
    `author_id` and/or `handle` (compared case-insensitively, with or without a leading `@`)."""

    connector: str | None = None
    channel: str | None = None
    author_id: str | None = None
    handle: str | None = None

    @property
    def scope(self) -> str:
        """What the request named for where (`connector:NAME` or `channel:NAME`): never the author."""
        return f"connector:{self.connector}" if self.connector else f"channel:{self.channel}"

    def _where(self, connector: Any, channel: Any) -> ColumnElement[bool]:
        return connector == self.connector if self.connector else channel == self.channel

    def mentions(self) -> ColumnElement[bool]:
        """Their stored mentions."""
        who = []
        if self.author_id:
            who.append(StoredMention.author_id == self.author_id)
        if self.handle:
            who.append(func.lower(StoredMention.author_handle).in_([f.lower() for f in handle_forms(self.handle)]))
        return self._where(StoredMention.connector, StoredMention.channel) & or_(*who)

    def author_keys(self, mentions: Iterable[StoredMention] = ()) -> list[str]:
        """The `Case.author_key`s they open cases under (`app.cases.service.author_key`), also by
        the ids and handles their stored `mentions` show (named by handle, a case is keyed by id)."""
        ids = non_empty([self.author_id, *(m.author_id for m in mentions)])
        handles = non_empty([*handle_forms(self.handle or ""), *(m.author_handle for m in mentions)])
        return [f"id:{i}" for i in ids] + [f"handle:{h.casefold()}" for h in handles]

    def opened(self, mentions: Iterable[StoredMention] = ()) -> ColumnElement[bool]:
        """The cases they opened."""
        return self._where(Case.connector, Case.channel) & Case.author_key.in_(self.author_keys(mentions))


def erase_author(session: Session, author: AuthorRef, *, principal: Principal, now: datetime) -> dict[str, int]:
    """Erase everything stored about `author` (see the module docstring); returns how many of
    each kind were erased or blanked. Every case touched is locked first, in id order."""
    mentions, case_ids = _lock_their_cases(session, author)
    # Read before anything is blanked: what identifies them in stored copies outside their rows.
    needles = non_empty([author.author_id, *handle_forms(author.handle or ""),
                         *(value for m in mentions for value in (m.author_id, m.author_handle, m.text))])
    own = list(session.scalars(select(Case).where(author.opened(mentions)).order_by(Case.id)
                               .execution_options(populate_existing=True)))
    needles += [case.ref for case in own]
    counts: Counter[str] = erase_mentions(session, mentions, now=now)
    for case in own:
        counts += anonymise_case(session, case, now=now, mentions=[])
    # Letters whose events never became mentions (none parsed) can name them too.
    counts["dead_letters"] += erase_dead_letters_holding(
        session, non_empty([author.author_id, *handle_forms(author.handle or "")]), connector=author.connector,
        now=now)
    counts["idempotent_responses"] += _drop_idempotent_responses(session, needles)
    if counts["mentions"]:
        counts["models_retrained"] += _retrain_without_them(session, now=now)
    for case_id in sorted(case_ids):
        session.add(CaseEvent(case_id=case_id, type=ERASURE_EVENT, actor_type=principal.kind, actor=principal.name,
                              at=now, data={"scope": author.scope, "mentions": sum(m.case_id == case_id
                                                                                     for m in mentions)}))
    counts["cases_touched"] = len(case_ids)
    result = {kind: counts.get(kind, 0) for kind in ERASURE_KINDS}
    record_erasure(session, principal, author, result, now=now)
    session.flush()
    return result


def _lock_their_cases(session: Session, author: AuthorRef) -> tuple[list[StoredMention], set[int]]:
    """Their mentions, read after every case holding one (or opened by them) is locked, and those
    cases' ids. Read again after locking: an erasure running at the same moment may have blanked
    them meanwhile, and then this one finds nothing left to do."""
    locked: set[int] = set()
    while True:
        mentions = list(session.scalars(select(StoredMention).where(author.mentions()).order_by(StoredMention.id)
                                        .execution_options(populate_existing=True)))
        case_ids = {m.case_id for m in mentions} | set(session.scalars(select(Case.id).where(author.opened(mentions))))
        if case_ids <= locked:
            return mentions, case_ids
        locked |= lock_case_ids(session, case_ids - locked)  # a merge moved one meanwhile: lock that too


ERASURE_KINDS = ("mentions", "cases", "cases_touched", "timeline_entries", "department_events", "replies",
                 "feedback_comments", "delivery_responses", "dead_letters", "idempotent_responses",
                 "models_retrained")
"""The counts an erasure answers with, always all of them (0 when nothing of that kind was found)."""


def record_erasure(session: Session, principal: Principal, author: AuthorRef, counts: dict[str, int], *,
                   now: datetime) -> None:
    """Record that an erasure happened, without the personal data: who asked, when, where
    (connector or channel) and the counts, as the audit entry `privacy.erasure` (target the scope,
    in the erasure's transaction; also when nothing was found: the request was handled) and a log
    line."""
    record(session, principal, "privacy.erasure", author.scope, counts, now)
    log.info("privacy erasure", extra={"actor": principal.name, "scope": author.scope, **counts})


def _drop_idempotent_responses(session: Session, needles: list[str]) -> int:
    """Delete the stored idempotent answers (kept 24 hours) that hold one of `needles`: a repeat of
    such a request acts again instead of answering their data."""
    doomed = [key.id for key in session.scalars(select(IdempotencyKey)) if mentions_any(key.response, needles)]
    if doomed:
        session.execute(delete(IdempotencyKey).where(IdempotencyKey.id.in_(doomed)))
    return len(doomed)


def _retrain_without_them(session: Session, *, now: datetime) -> int:
    """The suggested-department model learned from first-mention texts: every stored run is dropped
    and one is trained now on the blanked history (1), unless none had been trained (0)."""
    if session.scalar(select(func.count()).select_from(RoutingModel).where(RoutingModel.name == MODEL_NAME)) == 0:
        return 0
    session.execute(delete(RoutingModel).where(RoutingModel.name == MODEL_NAME))
    refresh_department_model(session, now=now)
    return 1


def export_author(session: Session, author: AuthorRef, *, now: datetime) -> dict[str, Any]:
    """Everything stored about `author`, as JSON: their mentions (as the API shows them, with the
    raw platform payloads), the cases they opened (case JSON with thread and timeline), the replies
    sent to them, their survey answers, the department event bodies of those cases, and the dead
    letters that hold their id or handle. Reads only."""
    mentions = list(session.scalars(select(StoredMention).where(author.mentions()).order_by(StoredMention.id)))
    own = list(session.scalars(select(Case).where(author.opened(mentions)).order_by(Case.id)))
    case_ids = {case.id for case in own}
    replies = list(session.scalars(select(PlatformReply).where(or_(
        PlatformReply.mention_id.in_([m.id for m in mentions]), PlatformReply.case_id.in_(case_ids)))
        .order_by(PlatformReply.id)))
    events = list(session.scalars(select(DepartmentEvent).where(DepartmentEvent.case_id.in_(case_ids))
                                  .order_by(DepartmentEvent.id)))
    needles = non_empty([author.author_id, *handle_forms(author.handle or ""),
                         *(v for m in mentions for v in (m.author_id, m.author_handle))])
    letters = [letter for letter in session.scalars(select(InboundDeadLetter).where(
        InboundDeadLetter.status != ERASED).order_by(InboundDeadLetter.id)) if body_mentions_any(letter.body, needles)]
    return {
        "author": {"connector": author.connector, "channel": author.channel, "author_id": author.author_id,
                   "handle": author.handle},
        "exported_at": now,
        "mentions": [{**mention_out(m).model_dump(mode="json"), "raw": m.raw, "case": format_ref(m.case_id)}
                     for m in mentions],
        "cases": [_case_json(session, case, {m.id for m in mentions}, now) for case in own],
        "replies": [{"id": r.id, "case": format_ref(r.case_id), "text": r.text, "status": r.status,
                     "channel": r.channel, "created_at": r.created_at, "sent_at": r.sent_at} for r in replies],
        "feedback": [{"case": format_ref(f.case_id), "score": f.score, "csat": f.csat, "comment": f.comment,
                      "received_at": f.received_at}
                     for f in session.scalars(select(CaseFeedback).where(CaseFeedback.case_id.in_(case_ids))
                                              .order_by(CaseFeedback.case_id))],
        "department_events": [{"id": e.id, "department": e.department, "type": e.type, "created_at": e.created_at,
                               "body": e.body} for e in events],
        "dead_letters": [{"id": d.id, "connector": d.connector, "received_at": d.received_at,
                          "body": d.body.decode("utf-8", errors="replace")} for d in letters],
    }


def _case_json(session: Session, case: Case, theirs: set[int], now: datetime) -> dict[str, Any]:
    """The case JSON with its timeline; its thread holds their mentions only (other people who
    wrote on the case have their own rights)."""
    mentions = list(session.scalars(select(StoredMention).where(StoredMention.case_id == case.id,
                                                                StoredMention.id.in_(theirs))
                                    .order_by(StoredMention.received_at, StoredMention.id)))
    timeline = list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)))
    timers = list(session.scalars(select(SlaTimer).where(SlaTimer.case_id == case.id)))
    return case_detail_out(case, mentions, timeline, timers, now).model_dump(mode="json")
