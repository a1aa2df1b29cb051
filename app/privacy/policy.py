"""How long each kind of personal data is kept, and what is past it at a given instant. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

FINISHED = ("resolved", "closed")
"""Cases whose text and author data expire: resolved or closed (a merged case is closed)."""


@dataclass(frozen=True)
class RetentionPolicy:
    """How long each kind is kept (the `WEBCARE_RETENTION_*_DAYS` settings)."""

    raw_payloads: timedelta = timedelta(days=30)
    dead_letters: timedelta = timedelta(days=30)
    finished_cases: timedelta = timedelta(days=365)
    delivery_logs: timedelta = timedelta(days=90)


@dataclass(frozen=True)
class RetentionCutoffs:
    """What is past its retention: raw payloads of mentions received before `raw_received_before`;
    dead letters received before `dead_letters_received_before`; the text and author data of
    resolved and closed cases last changed before `cases_finished_before`; delivery response bodies
    of attempts started before `delivery_attempts_before`."""

    raw_received_before: datetime
    dead_letters_received_before: datetime
    cases_finished_before: datetime
    delivery_attempts_before: datetime


def retention_cutoffs(now: datetime, policy: RetentionPolicy) -> RetentionCutoffs:
    """What is due at `now` under `policy`: each cutoff is `now` minus that kind's retention."""
    return RetentionCutoffs(raw_received_before=now - policy.raw_payloads,
                            dead_letters_received_before=now - policy.dead_letters,
                            cases_finished_before=now - policy.finished_cases,
                            delivery_attempts_before=now - policy.delivery_logs)
