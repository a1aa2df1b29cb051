"""The ingest path (DESIGN "The flow of one mention"): store, deduplicate, thread, classify, route;
apply edits and removals; count what carries no customer message.

Runs inside the caller's transaction; the caller answers 2xx only after committing it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.cases.changes import apply_changes
from app.cases.events import Actor, DomainEvent
from app.cases.locking import lock_existing_case
from app.cases.service import add_mention_to_case, open_case
from app.ingest.adapters.common import EditedItem, IgnoredItem, Item, RemovedItem
from app.ingest.models import MentionEnrichment
from app.ingest.standard import ParsedItem
from app.ingest.threading import find_thread_case, lock_thread
from app.mentions.language import with_detected_language
from app.mentions.model import Mention
from app.mentions.stored import StoredMention, attachments_json, new_stored_mention
from app.rules import Decision, RuleSet, classify

CUSTOMER = Actor("customer")


@dataclass
class IngestResult:
    """The counts of SPEC §2's webhook answer and the refs of the cases touched."""

    accepted: int = 0
    duplicates: int = 0
    updated: int = 0
    ignored: int = 0
    dead_lettered: int = 0
    cases: list[str] = field(default_factory=list)
    # (channel, outcome) of each event, and each classification's seconds: for the metrics
    outcomes: list[tuple[str, str]] = field(default_factory=list)
    classify_seconds: list[float] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)  # of the mentions stored (for rule hit counts)

    def to_json(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "updated": self.updated,
                "ignored": self.ignored, "dead_lettered": self.dead_lettered, "cases": self.cases}


def ingest_mentions(session: Session, *, ruleset: RuleSet, connector: str, items: Sequence[Item],
                    received_at: datetime) -> IngestResult:
    """Apply the events of one delivery, in order.

    - a new mention is stored and joins or opens a case; one already stored for this connector (or
      repeated within the batch) is a duplicate and changes nothing;
    - an edit of a stored mention updates it (the old text goes to the case's timeline) and opens
      no case: `updated`; an edit that changes nothing is a duplicate; an edit of a message never
      seen is stored as a new mention;
    - a removal marks the stored mention removed and blanks its text everywhere it was copied
      (`app.privacy.blanking`; `updated`; again: duplicate; never seen: ignored); an edit of a
      removed mention is a duplicate (it never brings the text back);
    - an ignored event is counted and nothing is stored.
    A mention without a language, from any connector, gets the detected one before it is
    classified (so rules on `language` fire for a listening tool's mentions as for a platform's).
    A mention flagged for enrichment gets a job that completes it after the commit.
    """
    result = IngestResult()
    config = ruleset.connectors.get(connector)
    items = [_with_account(item, config.account if config else None) for item in items]
    # Every mention of this connector the delivery names, in one query; rows added below join it,
    # so a repeat or an edit later in the same batch finds them.
    known = _stored_by_id(session, connector, {_external_id(item) for item in items} - {None})
    for item in items:
        before = (result.accepted, result.duplicates, result.updated, result.ignored)
        if isinstance(item, IgnoredItem):
            result.ignored += 1
        elif isinstance(item, RemovedItem):
            _remove(session, ruleset, known.get(item.external_id), item, received_at, result)
        elif isinstance(item, EditedItem):
            mention = with_detected_language(item.mention)
            stored = known.get(mention.external_id)
            if stored is None:
                _add(session, ruleset, connector, ParsedItem(mention, item.raw), received_at, result, known)
            else:
                _edit(session, ruleset, stored, mention, item, received_at, result)
        elif item.mention.external_id in known:
            result.duplicates += 1
        else:
            parsed = ParsedItem(with_detected_language(item.mention), item.raw)
            _add(session, ruleset, connector, parsed, received_at, result, known)
        result.outcomes.append((_channel(item, known), _outcome(before, result)))
    session.flush()
    return result


OUTCOMES = ("accepted", "duplicate", "updated", "ignored")


def _outcome(before: tuple[int, int, int, int], result: IngestResult) -> str:
    """Which count one event raised."""
    after = (result.accepted, result.duplicates, result.updated, result.ignored)
    return next(name for name, old, new in zip(OUTCOMES, before, after, strict=True) if new > old)


def _channel(item: Item, known: dict[str, StoredMention]) -> str:
    """The channel an event came on: its mention's, a removed mention's as stored, else ""."""
    if isinstance(item, ParsedItem | EditedItem):
        return item.mention.channel
    stored = known.get(item.external_id) if isinstance(item, RemovedItem) else None
    return stored.channel if stored is not None else ""


def _with_account(item: Item, default: str | None) -> Item:
    """The item with its mention's `account` filled: as the body names it, else the account id the
    platform adapter found (`extra.account_id`), else the connector's `account`."""
    if not isinstance(item, ParsedItem | EditedItem) or item.mention.account is not None:
        return item
    found = (item.mention.extra or {}).get("account_id")
    account = found if isinstance(found, str) and found else default
    return dataclasses.replace(item, mention=dataclasses.replace(item.mention, account=account))


def _add(session: Session, ruleset: RuleSet, connector: str, item: ParsedItem, received_at: datetime,
         result: IngestResult, known: dict[str, StoredMention]) -> None:
    mention = item.mention
    began = time.perf_counter()
    decision = classify(ruleset, mention, received_at, connector=connector)
    result.classify_seconds.append(time.perf_counter() - began)
    lock_thread(session, connector=connector, mention=mention)
    match = find_thread_case(session, connector=connector, mention=mention, now=received_at)
    if match.case is None:
        case = open_case(session, mention=mention, connector=connector, decision=decision,
                         ruleset=ruleset, now=received_at, linked_case=match.link)
    else:
        case = match.case
        add_mention_to_case(session, case, mention_external_id=mention.external_id, decision=decision,
                            ruleset=ruleset, now=received_at, joined_by=match.reason)
    row = new_stored_mention(mention, item.raw, connector=connector, case_id=case.id, decision=decision.to_json(),
               received_at=received_at)
    session.add(row)
    known[mention.external_id] = row
    enrichment = (mention.extra or {}).get("enrichment")
    if isinstance(enrichment, dict) and enrichment.get("state") == "pending":
        session.flush()
        session.add(MentionEnrichment(mention_id=row.id, connector=connector, kind=str(enrichment.get("kind")),
                                      status="pending", attempts=0, next_attempt_at=received_at,
                                      created_at=received_at, updated_at=received_at))
    result.accepted += 1
    result.decisions.append(decision)
    if case.ref not in result.cases:
        result.cases.append(case.ref)


def _edit(session: Session, ruleset: RuleSet, stored: StoredMention, mention: Mention, item: EditedItem,
          received_at: datetime, result: IngestResult) -> None:
    attachments = attachments_json(mention)
    # An edit arriving after the removal (platforms do not keep order) must not bring the text back.
    if stored.removed_at is not None or (stored.text == mention.text and stored.attachments == attachments):
        result.duplicates += 1
        return
    edited = DomainEvent("mention_edited", CUSTOMER, {"external_id": stored.external_id, "previous_text": stored.text,
                                                      "text": mention.text,
                                                      "edited_at": (item.edited_at or received_at).isoformat()})
    apply_changes(session, lock_existing_case(session, stored.case_id), [edited], ruleset=ruleset, now=received_at)
    stored.text = mention.text
    stored.attachments = attachments
    stored.language = mention.language or stored.language
    stored.edited_at = item.edited_at or received_at
    stored.extra = {**(stored.extra or {}), **(mention.extra or {})}
    result.updated += 1


def _remove(session: Session, ruleset: RuleSet, stored: StoredMention | None, item: RemovedItem,
            received_at: datetime, result: IngestResult) -> None:
    if stored is None:
        result.ignored += 1
        return
    if stored.removed_at is not None:
        result.duplicates += 1
        return
    case = lock_existing_case(session, stored.case_id)
    session.refresh(stored)  # as it is now that its case is locked: a removal at the same moment went first
    if stored.removed_at is not None:
        result.duplicates += 1
        return
    stored.removed_at = item.removed_at or received_at
    # The author took the text back: `app.privacy` blanks it everywhere it was copied (a handler of
    # the change), so it is never served again.
    apply_changes(session, case, [DomainEvent("mention_removed", CUSTOMER, {"external_id": stored.external_id},
                                              mention_id=stored.id)], ruleset=ruleset, now=received_at)
    result.updated += 1


def _external_id(item: Item) -> str | None:
    if isinstance(item, RemovedItem):
        return item.external_id
    if isinstance(item, IgnoredItem):
        return None
    return item.mention.external_id


def _stored_by_id(session: Session, connector: str, external_ids: set[str | None]) -> dict[str, StoredMention]:
    """The stored mentions of `connector` with these external ids, by id."""
    if not external_ids:
        return {}
    rows = session.scalars(select(StoredMention).where(StoredMention.connector == connector,
                                                       StoredMention.external_id.in_(external_ids)))
    return {row.external_id: row for row in rows}
