"""Blanking stored personal data in place, in the caller's transaction (never commits).

Three callers, one mechanism: a platform removal blanks one mention's text everywhere it was
copied (`blank_removed_mention`); an author's erasure blanks their mentions and anonymises the cases
they opened; the retention purge anonymises closed cases past their retention. Rows stay, so every
count, department, channel, status, SLA timer, routing decision and timestamp that the reports read
still adds up; what goes is what `app.privacy.redact` takes out (text, author fields, raw payloads).

The caller holds the lock of every case whose rows change here (`app.cases.locking`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.cases.changes import Change
from app.cases.models import Case, CaseEvent
from app.delivery.models import Delivery, DeliveryAttempt, DepartmentEvent
from app.feedback.models import CaseFeedback
from app.ingest.models import InboundDeadLetter
from app.mentions.stored import StoredMention
from app.privacy.redact import (
    BLANK,
    NO_AUTHOR,
    blank_free_text,
    body_mentions_any,
    non_empty,
    scrub_body,
    scrub_strings,
)
from app.replies.models import PlatformReply

MENTION_COPY_EVENTS = ("mention_edited", "mention_removed", "mention_enriched")
"""Timeline entries that copy a mention's text (`data.external_id` names the mention)."""

ERASED = "erased"
"""The status of a dead letter whose body was erased: it cannot be replayed; its counts stay."""


def blank_removed_mention(session: Session, mention: StoredMention, *, now: datetime) -> Counter[str]:
    """The author removed `mention` on the platform: its text, and every earlier version an edit
    replaced, is blanked in the mention, its raw payload, the timeline entries that copied it, the
    department event bodies (and so webhook deliveries) of its case, and the dead letters that hold
    it (the rest of such a body stays, so it can still be replayed). Returns what changed, counted."""
    counts: Counter[str] = Counter()
    cases = _cases_holding(session, mention.case_id)
    texts = non_empty([mention.text, *_copied_texts(session, cases, mention.external_id)])
    counts["mentions"] += _blank_mention_text(mention, now=now)
    counts["timeline_entries"] += _blank_copies(session, cases, [mention.external_id])
    counts["department_events"] += _scrub_events(session, cases, texts)
    counts["dead_letters"] += _scrub_dead_letters(session, mention.connector, [mention.external_id], texts)
    return +counts


def blank_on_removal(session: Session, case: Case, change: Change) -> None:
    """The `effects` handler of `app.cases.changes`: a `mention_removed` event blanks its mention
    (`blank_removed_mention`) before the timeline records the removal."""
    for event in change.events:
        if event.type == "mention_removed" and event.mention_id is not None:
            mention = session.get(StoredMention, event.mention_id)
            if mention is not None:
                blank_removed_mention(session, mention, now=change.now)


def erase_mentions(session: Session, mentions: Collection[StoredMention], *, now: datetime) -> Counter[str]:
    """Blank everything about the authors of `mentions` that these mentions brought in: their text
    (and earlier versions), author fields, url, attachments, platform details, thread keys and raw
    payloads; the timeline entries that copied them; those texts and author identifiers wherever a
    department event body of their case repeats them; the replies addressed to them; and every dead
    letter of their connector that holds one of them (erased whole: a body of several people's
    events cannot be split reliably, and its other failed events could name them too)."""
    counts: Counter[str] = Counter()
    needles_by_connector: dict[str, list[str]] = {}
    for mention in mentions:
        cases = _cases_holding(session, mention.case_id)
        needles = non_empty([mention.text, *_copied_texts(session, cases, mention.external_id),
                             mention.author_id, mention.author_handle, mention.author_name])
        # Dead letters are searched by identifiers only: a short text or a first name could equal
        # someone else's string and erase their letter too.
        needles_by_connector.setdefault(mention.connector, []).extend(
            non_empty([mention.external_id, mention.author_id, mention.author_handle]))
        counts["timeline_entries"] += _blank_copies(session, cases, [mention.external_id])
        counts["department_events"] += _scrub_events(session, cases, needles)
        counts["replies"] += _blank_replies(session, PlatformReply.mention_id == mention.id)
        counts["mentions"] += _erase_mention(mention, now=now)
    for connector, needles in needles_by_connector.items():
        counts["dead_letters"] += erase_dead_letters_holding(session, non_empty(needles), connector=connector,
                                                             now=now)
    return +counts


def anonymise_case(session: Session, case: Case, *, now: datetime,
                   mentions: Collection[StoredMention] | None = None) -> Counter[str]:
    """Blank the text and author data of `case` and all it holds: its author, `mentions` (None:
    every mention on it) as `erase_mentions` does, the free text of its timeline (mention copies,
    replies, notes, questions, resolutions, reasons, survey comments), its department event bodies,
    its replies, its survey comment (the scores stay) and the response bodies of its deliveries.
    Marks the case `anonymised_at`; running it again changes nothing."""
    if mentions is None:
        mentions = list(session.scalars(
            select(StoredMention).where(StoredMention.case_id == case.id).order_by(StoredMention.id)))
    counts = erase_mentions(session, mentions, now=now)
    if case.author != NO_AUTHOR or case.author_key is not None:
        case.author, case.author_key = dict(NO_AUTHOR), None
        counts["cases"] += 1
    for event in session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)):
        event.data, changed = blank_free_text(event.data)
        counts["timeline_entries"] += bool(changed)
    for department_event in session.scalars(select(DepartmentEvent).where(DepartmentEvent.case_id == case.id)):
        department_event.body, changed = blank_free_text(department_event.body)
        counts["department_events"] += bool(changed)
    counts["replies"] += _blank_replies(session, PlatformReply.case_id == case.id)
    feedback = session.get(CaseFeedback, case.id)
    if feedback is not None and feedback.comment is not None:  # the scores stay: NPS and CSAT add up
        feedback.comment = None
        counts["feedback_comments"] += 1
    counts["delivery_responses"] += blank_delivery_responses(
        session, DeliveryAttempt.delivery_id.in_(select(Delivery.id).where(Delivery.case_id == case.id)))
    case.anonymised_at = case.anonymised_at or now
    return +counts


def blank_delivery_responses(session: Session, condition: object) -> int:
    """Empty the stored response bodies of the delivery attempts that meet `condition` (a
    department's answer may echo the body it was sent); status codes and latencies stay."""
    attempts = list(session.scalars(select(DeliveryAttempt).where(
        condition, DeliveryAttempt.response_body.is_not(None))))  # type: ignore[arg-type]
    for attempt in attempts:
        attempt.response_body = None
    return len(attempts)


def erase_dead_letter(letter: InboundDeadLetter, *, now: datetime) -> None:
    """Erase a dead letter's body and error (which may quote it); its connector, kind, counts and
    times stay, and it can no longer be replayed (`ERASED`)."""
    letter.body, letter.error, letter.status = b"", BLANK, ERASED
    letter.last_result = {**(letter.last_result or {}), "erased_at": now.isoformat()}


def purge_raw(mention: StoredMention, *, now: datetime) -> bool:
    """Drop the raw platform payload of `mention` (the parsed fields stay); whether it held one."""
    had = mention.raw_purged_at is None or bool(mention.raw)
    mention.raw = {}
    mention.raw_purged_at = mention.raw_purged_at or now
    return had


def _blank_mention_text(mention: StoredMention, *, now: datetime) -> int:
    changed = mention.text != BLANK or mention.raw_purged_at is None
    mention.text = BLANK
    purge_raw(mention, now=now)
    return int(changed)


def _erase_mention(mention: StoredMention, *, now: datetime) -> int:
    before = (mention.text, mention.url, mention.author_id, mention.author_handle, mention.author_name,
              mention.attachments, mention.extra, mention.conversation_id, mention.raw_purged_at)
    mention.text, mention.url, mention.attachments, mention.extra = BLANK, None, [], None
    mention.author_id = mention.author_handle = mention.author_name = None
    mention.author_followers = mention.author_verified = None
    mention.conversation_id = mention.in_reply_to = None
    purge_raw(mention, now=now)
    return int(before != (BLANK, None, None, None, None, [], None, None, mention.raw_purged_at))


def _cases_holding(session: Session, case_id: int) -> list[int]:
    """The case a mention is on and the cases merged into it (a mention's earlier timeline entries
    stay on the case it was on before a merge moved it)."""
    merged = session.scalars(select(Case.id).where(Case.merged_into_id == case_id))
    return [case_id, *merged]


def _copy_events(session: Session, case_ids: list[int], external_ids: Collection[str]) -> list[CaseEvent]:
    events = session.scalars(select(CaseEvent).where(CaseEvent.case_id.in_(case_ids),
                                                     CaseEvent.type.in_(MENTION_COPY_EVENTS)))
    return [e for e in events if (e.data or {}).get("external_id") in external_ids]


def _copied_texts(session: Session, case_ids: list[int], external_id: str) -> list[str]:
    """The texts of the mention that its timeline copied (earlier versions an edit replaced)."""
    return [str(e.data[key]) for e in _copy_events(session, case_ids, [external_id])
            for key in ("text", "previous_text") if isinstance(e.data.get(key), str)]


def _blank_copies(session: Session, case_ids: list[int], external_ids: Collection[str]) -> int:
    changed = 0
    for event in _copy_events(session, case_ids, external_ids):
        event.data, count = blank_free_text(event.data)
        changed += bool(count)
    return changed


def _scrub_events(session: Session, case_ids: list[int], needles: Collection[str]) -> int:
    changed = 0
    for event in session.scalars(select(DepartmentEvent).where(DepartmentEvent.case_id.in_(case_ids))):
        event.body, count = scrub_strings(event.body, needles)
        changed += bool(count)
    return changed


def _letters(session: Session, connector: str, external_ids: Iterable[str]) -> list[InboundDeadLetter]:
    """The dead letters of `connector` whose body holds one of `external_ids` (bytes compared: a
    cheap first cut before the body is parsed)."""
    wanted = [e.encode() for e in non_empty(external_ids)]
    letters = session.scalars(select(InboundDeadLetter).where(InboundDeadLetter.connector == connector,
                                                              InboundDeadLetter.status != ERASED))
    return [letter for letter in letters if any(w in letter.body for w in wanted)]


def _scrub_dead_letters(session: Session, connector: str, external_ids: list[str], texts: list[str]) -> int:
    changed = 0
    for letter in _letters(session, connector, external_ids):
        letter.body, count = scrub_body(letter.body, texts)
        if count:
            letter.error = BLANK if any(t in letter.error for t in texts) else letter.error
        changed += bool(count)
    return changed


def erase_dead_letters_holding(session: Session, needles: list[str], *, connector: str | None,
                               now: datetime) -> int:
    """Erase (`erase_dead_letter`) every dead letter of `connector` (None: of any connector) whose
    body holds one of `needles` as a whole string; returns how many."""
    query = select(InboundDeadLetter).where(InboundDeadLetter.status != ERASED)
    if connector is not None:
        query = query.where(InboundDeadLetter.connector == connector)
    letters = [letter for letter in session.scalars(query) if needles and body_mentions_any(letter.body, needles)]
    for letter in letters:
        erase_dead_letter(letter, now=now)
    return len(letters)


def _blank_replies(session: Session, condition: object) -> int:
    """Blank the text and target of the replies that meet `condition`; one not sent yet is
    cancelled (`failed`), so nothing blank is ever posted."""
    changed = 0
    for reply in session.scalars(select(PlatformReply).where(condition)):  # type: ignore[arg-type]
        if reply.text == BLANK and not reply.target:
            continue
        reply.text, reply.target = BLANK, {}
        if reply.status in ("pending", "sending"):
            reply.status, reply.lease_owner, reply.lease_until = "failed", None, None
            reply.last_error = "cancelled: the text and recipient were erased (privacy)"
        changed += 1
    return changed
