"""Which case a new mention belongs to (DESIGN "Case life cycle").

A mention joins the case of its conversation or reply chain when that case is not closed; a closed
thread opens a new case linked to the closed one. Without a thread, it joins the newest case of the
same author on the same channel that is not closed and heard from them in the last 24 hours.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, text
from sqlalchemy.orm import Session

from app.cases.locking import lock_case, lock_existing_case
from app.cases.models import Case
from app.cases.service import author_key
from app.mentions.model import Mention
from app.mentions.stored import StoredMention

AUTHOR_WINDOW = timedelta(hours=24)
MAX_MERGE_HOPS = 20


@dataclass(frozen=True)
class ThreadMatch:
    """`case` to join (None: open a new one), `link` a closed case the new one continues, `reason`."""

    case: Case | None
    link: Case | None
    reason: str


def lock_thread(session: Session, *, connector: str, mention: Mention) -> None:
    """On PostgreSQL, serialise concurrent ingests of the same thread or author until commit, so two
    deliveries of one conversation cannot open two cases. SQLite already has one writer at a time."""
    if session.get_bind().dialect.name != "postgresql":
        return
    keys = sorted({k for k in (_conversation_key(connector, mention), _author_lock_key(mention)) if k})
    for key in keys:
        number = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": number})


def find_thread_case(session: Session, *, connector: str, mention: Mention, now: datetime) -> ThreadMatch:
    """The case `mention` belongs to, following merges to the surviving case."""
    thread_keys = [k for k in (mention.conversation_id, mention.in_reply_to) if k]
    if thread_keys:
        case_id = session.scalar(
            select(StoredMention.case_id)
            .where(StoredMention.connector == connector,
                   or_(StoredMention.conversation_id.in_(thread_keys),
                       StoredMention.external_id.in_(thread_keys)))
            .order_by(StoredMention.received_at.desc(), StoredMention.id.desc())
            .limit(1)
        )
        if case_id is not None:
            case = _follow_merges(session, case_id)
            if case.status == "closed":
                return ThreadMatch(case=None, link=case, reason="closed thread")
            return ThreadMatch(case=case, link=None, reason="thread")
    key = author_key(mention)
    if key is not None:
        recent = session.scalar(
            select(Case)
            .where(Case.channel == mention.channel, Case.author_key == key, Case.status != "closed",
                   Case.last_mention_at >= now - AUTHOR_WINDOW)
            .order_by(Case.last_mention_at.desc(), Case.id.desc())
            .limit(1)
        )
        # Locked, then looked at again: an agent may have closed it while this read ran.
        if recent is not None and (locked := lock_case(session, recent.id)) is not None \
                and locked.status != "closed":
            return ThreadMatch(case=locked, link=None, reason="author")
    return ThreadMatch(case=None, link=None, reason="new")


def _follow_merges(session: Session, case_id: int) -> Case:
    """The surviving case, locked for the change the mention makes (each hop is locked before its
    `merged_into_id` is read, so a merge committed meanwhile is followed too)."""
    case = lock_existing_case(session, case_id)
    for _ in range(MAX_MERGE_HOPS):
        if case.merged_into_id is None:
            break
        case = lock_existing_case(session, case.merged_into_id)
    return case


def _conversation_key(connector: str, mention: Mention) -> str | None:
    key = mention.conversation_id or mention.in_reply_to
    return f"thread:{connector}:{key}" if key else None


def _author_lock_key(mention: Mention) -> str | None:
    key = author_key(mention)
    return f"author:{mention.channel}:{key}" if key else None
