"""How long each kind of personal data is kept, and the daily purge of what is past it.

`app.privacy.policy.retention_cutoffs(now, policy)` decides, purely, what is due at `now`; `purge_due` blanks one
batch of it in the caller's transaction (never commits) and says how much; `RetentionPurger` runs
that on the shared worker loop (`app.jobs.leases.run_until_stopped`) at each start and then daily,
batch after batch until nothing is due, in `webcare serve` and in `webcare worker`. Any number of
processes may purge at once: cases are locked (`skip_locked`: a case another purge or a request
holds is taken next time) and what is done is marked, so nothing is done twice.

Blanking, never deleting (`app.privacy.blanking`): counts, departments, channels, statuses, SLA
timers and timestamps stay, so every report over a period adds up the same after a purge.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.cases.locking import lock_case_ids
from app.cases.models import Case, CaseEvent
from app.db import transaction
from app.delivery.models import DeliveryAttempt
from app.ingest.models import InboundDeadLetter
from app.jobs.leases import run_until_stopped
from app.kernel.clock import utc_now
from app.mentions.stored import StoredMention
from app.privacy.blanking import ERASED, anonymise_case, blank_delivery_responses, erase_dead_letter, purge_raw
from app.privacy.policy import FINISHED, RetentionPolicy, retention_cutoffs

log = logging.getLogger(__name__)

PURGE_EVERY = timedelta(days=1)
ANONYMISED_EVENT = "privacy_anonymised"
"""The timeline entry a case gets when its retention ended and its text and author data were blanked."""
BATCH = 200


def purge_due(session: Session, *, now: datetime, policy: RetentionPolicy, batch: int = BATCH) -> dict[str, int]:
    """Blank at most `batch` rows of each kind that are past their retention at `now`; returns how
    many of each (all 0: nothing is due). A finished case counts once, with all it holds."""
    cutoffs = retention_cutoffs(now, policy)
    counts: Counter[str] = Counter()
    due_cases = session.scalars(select(Case.id).where(
        Case.status.in_(FINISHED), Case.updated_at < cutoffs.cases_finished_before, Case.anonymised_at.is_(None))
        .order_by(Case.id).limit(batch))
    for case_id in sorted(lock_case_ids(session, list(due_cases), skip_locked=True)):
        case = session.get_one(Case, case_id, populate_existing=True)
        if case.anonymised_at is None and case.status in FINISHED:  # as it is now it is locked
            anonymise_case(session, case, now=now)
            # A timeline entry (without bumping `updated_at`: timestamps stay) so the queue index of
            # every process reads the resolved case again and forgets its text.
            session.add(CaseEvent(case_id=case.id, type=ANONYMISED_EVENT, actor_type="system", actor="retention",
                                  at=now, data={"retention_days": policy.finished_cases.days}))
            counts["cases"] += 1
    raw_due = (StoredMention.received_at < cutoffs.raw_received_before, StoredMention.raw_purged_at.is_(None))
    locked = lock_case_ids(session, session.scalars(select(StoredMention.case_id).where(*raw_due)
                                                    .order_by(StoredMention.id).limit(batch)), skip_locked=True)
    for mention in session.scalars(select(StoredMention).where(*raw_due, StoredMention.case_id.in_(locked))
                                   .order_by(StoredMention.id).limit(batch)
                                   .execution_options(populate_existing=True)):
        counts["raw_payloads"] += purge_raw(mention, now=now)
    for letter in session.scalars(select(InboundDeadLetter).where(
            InboundDeadLetter.received_at < cutoffs.dead_letters_received_before, InboundDeadLetter.status != ERASED)
            .order_by(InboundDeadLetter.id).limit(batch)):
        erase_dead_letter(letter, now=now)
        counts["dead_letters"] += 1
    due_attempts = select(DeliveryAttempt.id).where(DeliveryAttempt.started_at < cutoffs.delivery_attempts_before,
                                                    DeliveryAttempt.response_body.is_not(None)).limit(batch)
    counts["delivery_responses"] += blank_delivery_responses(session, DeliveryAttempt.id.in_(list(
        session.scalars(due_attempts))))
    session.flush()
    return {kind: counts.get(kind, 0) for kind in ("cases", "raw_payloads", "dead_letters", "delivery_responses")}


class RetentionPurger:
    """Runs `purge_due` at start and then every `interval` (batch after batch while something was
    due), on a thread so the event loop never waits on the database, until stopped."""

    def __init__(self, sessions: sessionmaker[Session], policy: RetentionPolicy, *,
                 interval: timedelta = PURGE_EVERY):
        self.sessions = sessions
        self.policy = policy
        self.interval = interval

    def purge_batch(self) -> int:
        with transaction(self.sessions) as session:
            purged = purge_due(session, now=utc_now(), policy=self.policy)
        if any(purged.values()):
            log.info("purged data past its retention", extra=purged)
        return sum(purged.values())

    async def run_forever(self, stop: asyncio.Event) -> None:
        await run_until_stopped(stop, lambda: asyncio.to_thread(self.purge_batch),
                                idle_seconds=self.interval.total_seconds(), name="retention purge")
