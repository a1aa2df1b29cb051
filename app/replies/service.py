"""Replies in the database: queued by the `respond` action, claimed by `ReplySender` with a lease,
and their outcome written to the reply, the case's timeline and its tags. Never commits.

A failure is never silent: a refused reply tags the case `reply-failed`, a reply whose outcome is
unknown and cannot be looked up tags it `reply-unconfirmed`, each with a timeline entry; the
tags are filterable in the queue (`?tag=reply-failed`). The next reply that is sent, or the next
`respond` of an agent, clears them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.cases.changes import Change, record_event
from app.cases.locking import lock_existing_case
from app.cases.models import Case
from app.cases.service import add_tags
from app.jobs.leases import due_condition, holds_lease, release, take_lease
from app.jobs.retry import RetrySchedule, Rng
from app.mentions.stored import StoredMention
from app.replies.models import PlatformReply
from app.replies.targets import ReplyTo, plan_reply
from app.rules import RuleSet

PLATFORM_KINDS = ("meta", "whatsapp", "x", "telegram")
FAILED_TAG = "reply-failed"
UNCONFIRMED_TAG = "reply-unconfirmed"


def queue_reply(session: Session, case: Case, *, text: str, send: bool, ruleset: RuleSet, actor: str | None,
                now: datetime) -> dict[str, Any]:
    """Queue `text` to be sent through the case's platform after the commit, when `send` is true
    and the connector can reply (a platform kind with `access_token_env`, and a mention to answer).
    Returns the `respond` timeline data: `delivery` is `queued` (with `reply_id`) or `recorded`
    (with `reason` when sending was asked for but is not possible)."""
    _clear_flags(case)
    if not send:
        return {"delivery": "recorded"}
    refusal = why_cannot_send(ruleset, case.connector)
    if refusal is not None:
        return {"delivery": "recorded", "reason": refusal}
    mention = _latest_mention(session, case)
    plan = plan_reply(ReplyTo(mention.channel, mention.external_id, mention.author_id, mention.conversation_id,
                              mention.is_private, dict(mention.extra or {}))) if mention else None
    if mention is None or plan is None:
        return {"delivery": "recorded", "reason": "no mention on this case can be answered on its platform"}
    method, target = plan
    reply = PlatformReply(case_id=case.id, mention_id=mention.id, connector=case.connector, channel=mention.channel,
                          method=method, target=target, text=text, status="pending", attempts=0, uncertain=False,
                          next_attempt_at=now, requested_by=actor, created_at=now, updated_at=now)
    session.add(reply)
    session.flush()
    return {"delivery": "queued", "reply_id": reply.id, "method": method, "in_reply_to": mention.external_id}


def why_cannot_send(ruleset: RuleSet, connector_name: str) -> str | None:
    """Why a reply on a case of `connector_name` cannot be posted through its platform (a listening
    tool or a web form only delivers mentions; a platform connector needs `access_token_env`), or
    None when it can. The composer asks this before it offers to send; `queue_reply` records it."""
    connector = ruleset.connectors.get(connector_name)
    if connector is None or connector.kind not in PLATFORM_KINDS or not connector.access_token_env:
        return f"connector {connector_name} cannot send replies"
    return None


def queue_replies(session: Session, case: Case, change: Change) -> None:
    """The `effects` handler of `app.cases.changes`: a `responded` event queues its reply (see
    `queue_reply`) and its timeline data records how the reply will be delivered."""
    for index, event in enumerate(change.events):
        if event.type == "responded":
            queued = queue_reply(session, case, text=event.data["text"], send=bool(event.data.get("send")),
                                 ruleset=change.ruleset, actor=event.actor.name, now=change.now)
            change.events[index] = dataclasses.replace(event, data={**event.data, **queued})


def _latest_mention(session: Session, case: Case) -> StoredMention | None:
    return session.scalar(select(StoredMention)
                          .where(StoredMention.case_id == case.id, StoredMention.connector == case.connector,
                                 StoredMention.removed_at.is_(None))
                          .order_by(StoredMention.received_at.desc(), StoredMention.id.desc()).limit(1))


def _clear_flags(case: Case) -> None:
    case.tag_rows = [t for t in case.tag_rows if t.tag not in (FAILED_TAG, UNCONFIRMED_TAG)]


@dataclass(frozen=True)
class ClaimedReply:
    id: int
    connector: str
    method: str
    target: dict[str, Any]
    text: str
    attempts: int
    uncertain: bool


def claim_replies(session: Session, *, now: datetime, worker_id: str, lease: timedelta,
                  limit: int) -> list[ClaimedReply]:
    """Lease up to `limit` due replies: pending and due, or `sending` with the lease run out (a
    crashed worker: its outcome is unknown, so the claim marks the reply `uncertain`)."""
    due = due_condition(PlatformReply, now=now, waiting="pending", working="sending")
    rows = list(session.scalars(select(PlatformReply).where(due).order_by(PlatformReply.next_attempt_at,
                                                                          PlatformReply.id)
                                .limit(limit).with_for_update(skip_locked=True)))
    claimed = []
    for row in rows:
        if row.status == "sending":
            row.uncertain = True
        take_lease(row, worker_id=worker_id, now=now, lease=lease, working="sending")
        claimed.append(ClaimedReply(row.id, row.connector, row.method, dict(row.target), row.text, row.attempts,
                                    row.uncertain))
    return claimed


@dataclass(frozen=True)
class SendOutcome:
    """What one attempt found out. `result`: `sent` (with `platform_reply_id`), `failed` (refused
    for good), `retry` (certainly not posted; try again later), `unknown` (may have been posted),
    `unconfirmed` (unknown, and there is no way to look it up)."""

    reply_id: int
    result: str
    platform_reply_id: str | None = None
    error: str | None = None
    found_by_lookup: bool = False
    attempted: bool = True
    retry_after: str | None = None


def record_reply(session: Session, outcome: SendOutcome, *, worker_id: str, now: datetime, schedule: RetrySchedule,
                 rng: Rng) -> None:
    """Write one outcome; skipped when this worker no longer holds the lease. A reply not (or maybe)
    posted is tried again as `schedule` says (or when the platform's `Retry-After` says) until its
    attempts run out; one that may have been posted is looked for before it is posted again."""
    reply = session.get(PlatformReply, outcome.reply_id, with_for_update=True)
    if reply is None or not holds_lease(reply, worker_id=worker_id, status="sending"):
        return
    case = lock_existing_case(session, reply.case_id)
    reply.attempts += 1 if outcome.attempted else 0
    release(reply, now=now)
    reply.last_error = outcome.error
    result = outcome.result
    if result in ("retry", "unknown") and reply.attempts >= schedule.max_attempts:
        result = "unconfirmed" if reply.uncertain or result == "unknown" else "failed"
    if result == "sent":
        reply.status, reply.platform_reply_id, reply.sent_at = "sent", outcome.platform_reply_id, now
        _clear_flags(case)
        record_event(session, case, type="reply_sent", at=now, actor_type="system",
                     data={"reply_id": reply.id, "platform_reply_id": outcome.platform_reply_id,
                           "method": reply.method, "found_by_lookup": outcome.found_by_lookup})
    elif result == "failed":
        reply.status = "failed"
        add_tags(case, [FAILED_TAG])
        record_event(session, case, type="reply_failed", at=now, actor_type="system",
                     data={"reply_id": reply.id, "method": reply.method, "error": outcome.error,
                           "text": reply.text})
    elif result == "unconfirmed":
        reply.status = "unconfirmed"
        add_tags(case, [UNCONFIRMED_TAG])
        record_event(session, case, type="reply_unconfirmed", at=now, actor_type="system",
                     data={"reply_id": reply.id, "method": reply.method, "error": outcome.error, "text": reply.text,
                           "check": "the platform did not say whether the reply was posted; check it there "
                                    "and respond again only if it is missing"})
    else:
        reply.status = "pending"
        reply.uncertain = reply.uncertain or result == "unknown"
        reply.next_attempt_at = schedule.next_attempt_at(max(1, reply.attempts), now=now, rng=rng,
                                                         retry_after=outcome.retry_after)
