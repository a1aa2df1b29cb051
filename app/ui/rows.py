"""Queue rows as the template renders them (the page and the live stream share this)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy.orm import Session

from app.cases.lifecycle import CaseState, allowed_actions
from app.cases.models import Case
from app.kernel.refs import format_ref
from app.kernel.vocabulary import Status
from app.rules import RuleSet
from app.ui.queue import first_mentions, queue_sort_key, sla_timers
from app.ui.queue_index import Entry
from app.ui.reads import is_unread
from app.ui.timers import TimerView, nearest_timer, timer_views

FIRST_LINE_CHARS = 140
SAME_MOMENT = timedelta(minutes=1)  # last activity this close to receipt is not shown twice


@dataclass(frozen=True)
class QueueRow:
    ref: str
    key: str
    status: str
    channel: str
    account: str | None  # the display name of our account the case reached, else its id
    author: str
    first_line: str
    department: str
    priority: str
    tags: list[str]
    assignee: str | None
    timer: TimerView | None
    received_at: datetime
    last_activity_at: datetime | None  # None when nothing happened since the case came in
    unread: bool  # a customer message the viewing user has not seen (app.ui.reads)

    @property
    def claimable(self) -> bool:
        """Whether the life cycle lets an agent claim a case in this row's status."""
        return claim_allowed(self.status)


@cache
def claim_allowed(status: str) -> bool:
    state = CaseState(status=Status(status), department="", triage="")
    return "claim" in allowed_actions(state, "agent")


def last_activity(created_at: datetime, updated_at: datetime) -> datetime | None:
    return updated_at if updated_at - created_at >= SAME_MOMENT else None


def first_line(text: str) -> str:
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line if len(line) <= FIRST_LINE_CHARS else line[: FIRST_LINE_CHARS - 1] + "…"


def entry_rows(entries: Sequence[Entry], *, ruleset: RuleSet, now: datetime,
               seen: Mapping[int, datetime]) -> list[QueueRow]:
    """One row per queue index entry, in the given order, without asking the database; `seen` is
    when the viewing user last opened each case (`app.ui.reads.seen_times`)."""
    rows = []
    for e in entries:
        department = ruleset.departments.get(e.department)
        sla = {t.kind: {"due_at": t.due_at, "state": t.state, "department": t.department} for t in e.timers}
        rows.append(QueueRow(
            ref=format_ref(e.id), key=e.sort_text, status=e.status, channel=e.channel,
            account=e.account_name or e.account, author=e.author,
            first_line=first_line(e.first_text), priority=e.priority,
            department=department.name if department else e.department, tags=list(e.tags), assignee=e.assignee,
            timer=nearest_timer(timer_views(sla, now=now)), received_at=e.created_at,
            last_activity_at=last_activity(e.created_at, e.updated_at),
            unread=is_unread(e.last_mention_at, seen.get(e.id)),
        ))
    return rows


def queue_rows(session: Session, cases: Sequence[Case], *, ruleset: RuleSet, now: datetime,
               seen: Mapping[int, datetime]) -> list[QueueRow]:
    """One row per case, in the given order (three queries for any number of cases); `seen` as
    for `entry_rows`."""
    firsts = first_mentions(session, [c.id for c in cases])
    timers = sla_timers(session, cases, now=now)
    rows = []
    for case in cases:
        mention = firsts.get(case.id)
        author = case.author.get("handle") or case.author.get("name") or "—"
        department = ruleset.departments.get(case.department)
        rows.append(QueueRow(
            ref=case.ref, key=queue_sort_key(case), status=case.status, channel=case.channel,
            account=case.account_name or case.account, author=str(author),
            first_line=first_line(mention.text) if mention else "", priority=case.priority,
            department=department.name if department else case.department, tags=case.tags,
            assignee=case.assignee.username if case.assignee else None,
            timer=nearest_timer(timer_views(timers.get(case.id, {}), now=now)), received_at=case.created_at,
            last_activity_at=last_activity(case.created_at, case.updated_at),
            unread=is_unread(case.last_mention_at, seen.get(case.id)),
        ))
    return rows
