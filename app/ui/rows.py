"""Queue rows as the template renders them (the page and the live stream share this)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.cases.models import Case
from app.rules import RuleSet
from app.ui.queue import first_mentions, queue_sort_key, sla_timers
from app.ui.timers import TimerView, nearest_timer, timer_views

FIRST_LINE_CHARS = 140


@dataclass(frozen=True)
class QueueRow:
    ref: str
    key: str
    status: str
    channel: str
    author: str
    first_line: str
    department: str
    priority: str
    tags: list[str]
    assignee: str | None
    timer: TimerView | None


def first_line(text: str) -> str:
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line if len(line) <= FIRST_LINE_CHARS else line[: FIRST_LINE_CHARS - 1] + "…"


def queue_rows(session: Session, cases: Sequence[Case], *, ruleset: RuleSet, now: datetime) -> list[QueueRow]:
    """One row per case, in the given order (three queries for any number of cases)."""
    firsts = first_mentions(session, [c.id for c in cases])
    timers = sla_timers(session, cases, now=now)
    rows = []
    for case in cases:
        mention = firsts.get(case.id)
        author = case.author.get("handle") or case.author.get("name") or "—"
        department = ruleset.departments.get(case.department)
        rows.append(QueueRow(
            ref=case.ref, key=queue_sort_key(case), status=case.status, channel=case.channel, author=str(author),
            first_line=first_line(mention.text) if mention else "", priority=case.priority,
            department=department.name if department else case.department, tags=case.tags,
            assignee=case.assignee.username if case.assignee else None,
            timer=nearest_timer(timer_views(timers.get(case.id, {}), now=now)),
        ))
    return rows
