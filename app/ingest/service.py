"""The ingest path (DESIGN "The flow of one mention"): store, deduplicate, thread, classify, route.

Runs inside the caller's transaction; the caller answers 2xx only after committing it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.cases.service import add_mention_to_case, open_case
from app.ingest.models import StoredMention
from app.ingest.standard import ParsedItem
from app.ingest.threading import find_thread_case, lock_thread
from app.mentions.model import Mention
from app.rules import RuleSet, classify


@dataclass
class IngestResult:
    """The counts of SPEC §2's webhook answer and the refs of the cases touched."""

    accepted: int = 0
    duplicates: int = 0
    updated: int = 0
    ignored: int = 0
    dead_lettered: int = 0
    cases: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "updated": self.updated,
                "ignored": self.ignored, "dead_lettered": self.dead_lettered, "cases": self.cases}


def ingest_mentions(session: Session, *, ruleset: RuleSet, connector: str, items: Sequence[ParsedItem],
                    received_at: datetime) -> IngestResult:
    """Store each new mention and attach it to a case; a mention already stored for this connector
    (or repeated within the batch) is a duplicate and changes nothing."""
    result = IngestResult()
    seen: set[str] = set()
    for item in items:
        mention = item.mention
        if mention.external_id in seen or _stored(session, connector, mention.external_id):
            result.duplicates += 1
            seen.add(mention.external_id)
            continue
        seen.add(mention.external_id)
        decision = classify(ruleset, mention, received_at, connector=connector)
        lock_thread(session, connector=connector, mention=mention)
        match = find_thread_case(session, connector=connector, mention=mention, now=received_at)
        if match.case is None:
            case = open_case(session, mention=mention, connector=connector, decision=decision,
                             ruleset=ruleset, now=received_at, linked_case=match.link)
        else:
            case = match.case
            add_mention_to_case(session, case, mention_external_id=mention.external_id, decision=decision,
                                ruleset=ruleset, now=received_at, joined_by=match.reason)
        session.add(_row(mention, item.raw, connector=connector, case_id=case.id, decision=decision.to_json(),
                         received_at=received_at))
        result.accepted += 1
        if case.ref not in result.cases:
            result.cases.append(case.ref)
    session.flush()
    return result


def _stored(session: Session, connector: str, external_id: str) -> bool:
    return session.scalar(
        select(StoredMention.id).where(StoredMention.connector == connector,
                                       StoredMention.external_id == external_id)
    ) is not None


def _row(mention: Mention, raw: Any, *, connector: str, case_id: int, decision: dict[str, Any],
         received_at: datetime) -> StoredMention:
    author = mention.author
    return StoredMention(
        case_id=case_id, connector=connector, external_id=mention.external_id, channel=mention.channel,
        text=mention.text, url=mention.url, language=mention.language, is_private=mention.is_private,
        conversation_id=mention.conversation_id, in_reply_to=mention.in_reply_to,
        author_id=author.id, author_handle=author.handle, author_name=author.name,
        author_followers=author.followers, author_verified=author.verified,
        attachments=[{k: v for k, v in (("type", a.type), ("url", a.url), ("id", a.id)) if v is not None}
                     for a in mention.attachments],
        extra=mention.extra, raw=raw, decision=decision, received_at=received_at, posted_at=mention.posted_at,
    )
