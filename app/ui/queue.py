"""The queries behind the agents' queue: filters, order, per-filter counts, live re-evaluation.

Guarantees: the page, the counts and the live stream apply the same conditions (`queue_conditions`),
so a row the stream sends is exactly a row the page would show after a reload. Every query is bounded:
the page by `QUEUE_LIMIT`, the counts by the not-closed cases, the live check by the changed ids.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from app.auth.service import Principal
from app.cases.models import Case
from app.cases.queries import CaseFilter, case_conditions
from app.cases.schemas import current_timers
from app.kernel.vocabulary import ACTIVE_STATUSES, PRIORITIES, STATUSES
from app.mentions.stored import StoredMention
from app.sla.timers import timers_of

SLA_STATES = ("warned", "breached")
ASSIGNEE_VALUES = ("me", "none")
QUEUE_LIMIT = 50  # what an agent scans; the total and the counts say how many more there are


def queue_order() -> tuple[ColumnElement[Any], ...]:
    """THE queue order, used by the page and (through `queue_sort_key`) by the live stream: the
    nearest SLA deadline of a running timer first (`Case.due_at`, kept by `app.sla.timers`; cases
    without one, e.g. waiting for the customer, last), then the most urgent priority, then the oldest.
    The index `ix_cases_queue` (migration 0006) is keyed on exactly this order: change both together.
    """
    return (Case.due_at.asc().nulls_last(), Case.priority.asc(), Case.created_at.asc(), Case.id.asc())


def _sortable(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") if moment is not None else "~"


def queue_sort_key(case: Case) -> str:
    """A string that sorts like `queue_order()`; the browser places live rows by it."""
    return sort_text(case.due_at, case.priority, case.created_at, case.id)


def sort_text(due_at: datetime | None, priority: str, created_at: datetime, case_id: int) -> str:
    """`queue_sort_key` from the four values of the queue order."""
    return f"{_sortable(due_at)}|{priority}|{_sortable(created_at)}|{case_id:012d}"


def sla_timers(session: Session, cases: Sequence[Case], *, now: datetime) -> dict[int, dict[str, dict[str, Any]]]:
    """Each case's current timers as the case JSON's `sla` has them, in one query."""
    timers = timers_of(session, [c.id for c in cases])
    return {c.id: {kind: out.model_dump() for kind, out in current_timers(timers.get(c.id, []), now).items()}
            for c in cases}


@dataclass(frozen=True)
class QueueFilter:
    """The queue's filters as they stand in the URL. No status means the active cases (or every
    case when searching); values within one filter are OR-ed, filters are AND-ed."""

    status: tuple[str, ...] = ()
    department: tuple[str, ...] = ()
    channel: tuple[str, ...] = ()
    priority: tuple[str, ...] = ()
    account: tuple[str, ...] = ()
    assignee: str | None = None
    sla: str | None = None
    q: str | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Sequence[str]], *, departments: Iterable[str]) -> QueueFilter:
        """Read the URL's parameters; unknown values are dropped, not errors (a stale bookmark still opens)."""
        known_departments = set(departments)

        def values(name: str, allowed: Iterable[str] | None = None) -> tuple[str, ...]:
            allowed_set = set(allowed) if allowed is not None else None
            raw = [v.strip() for v in params.get(name, []) if v and v.strip()]
            return tuple(dict.fromkeys(v for v in raw if allowed_set is None or v in allowed_set))

        def one(name: str, allowed: Iterable[str]) -> str | None:
            found = values(name, allowed)
            return found[0] if found else None

        q = " ".join(params.get("q", [""])[0].split())[:200] or None
        return cls(status=values("status", (*STATUSES, "all")), department=values("department", known_departments),
                   channel=tuple(v[:40] for v in values("channel")), priority=values("priority", PRIORITIES),
                   account=tuple(v[:200] for v in values("account")),
                   assignee=one("assignee", ASSIGNEE_VALUES), sla=one("sla", SLA_STATES), q=q)

    def params(self) -> list[tuple[str, str]]:
        pairs: list[tuple[str, str]] = [("status", s) for s in self.status]
        pairs += [("department", d) for d in self.department] + [("channel", c) for c in self.channel]
        pairs += [("priority", p) for p in self.priority] + [("account", a) for a in self.account]
        pairs += [(k, v) for k, v in (("assignee", self.assignee), ("sla", self.sla), ("q", self.q)) if v]
        return pairs

    def query_string(self) -> str:
        return urlencode(self.params())

    def with_(self, **changes: object) -> QueueFilter:
        return replace(self, **changes)  # type: ignore[arg-type]

    def case_filter(self) -> CaseFilter:
        """The same filter in the terms of `app.cases.queries` (and so of `GET /api/v1/cases`)."""
        return CaseFilter(status=self.statuses or (), department=self.department, channel=self.channel,
                          priority=self.priority, account=self.account,
                          assignee=(self.assignee,) if self.assignee else (), sla=(self.sla,) if self.sla else (),
                          q=self.q)

    @property
    def statuses(self) -> tuple[str, ...] | None:
        """The statuses shown; None for every status."""
        if "all" in self.status:
            return None
        if self.status:
            return self.status
        return None if self.q else ACTIVE_STATUSES


def queue_conditions(principal: Principal, f: QueueFilter) -> list[ColumnElement[bool]]:
    """The WHERE clause of the queue for `f`: the case filters of `app.cases.queries` (the same the
    API applies), for the filter as `QueueFilter.case_filter` states it."""
    return case_conditions(principal, f.case_filter())


def queue_cases(session: Session, principal: Principal, f: QueueFilter, *, limit: int = QUEUE_LIMIT) -> list[Case]:
    """The first `limit` cases of the queue, in queue order, from the database (the page asks the
    process's `QueueIndex` first; this serves what it does not hold, such as closed cases).

    Two steps: the ids first, which PostgreSQL answers from the partial index `ix_cases_queue`
    alone for the not-closed cases (migration 0006), then the `limit` rows themselves.
    """
    ids = list(session.scalars(select(Case.id).where(*queue_conditions(principal, f)).order_by(*queue_order())
                               .limit(limit)))
    return cases_in_order(session, ids)


def cases_in_order(session: Session, ids: Sequence[int]) -> list[Case]:
    """The cases `ids`, in that order (ids of cases that are gone are skipped)."""
    if not ids:
        return []
    by_id = {case.id: case for case in session.scalars(select(Case).where(Case.id.in_(ids)))}
    return [by_id[i] for i in ids if i in by_id]


def changed_cases(session: Session, principal: Principal, f: QueueFilter, ids: Iterable[int]) -> list[Case]:
    """Of the cases `ids`, those that belong in the queue `f` now (for the live stream)."""
    id_list = sorted(set(ids))
    if not id_list:
        return []
    query = select(Case).where(Case.id.in_(id_list), *queue_conditions(principal, f)).order_by(*queue_order())
    return list(session.scalars(query))


def first_mentions(session: Session, case_ids: Iterable[int]) -> dict[int, StoredMention]:
    """The first mention of each case (what the queue row quotes)."""
    ids = list(set(case_ids))
    if not ids:
        return {}
    first = select(func.min(StoredMention.id)).where(StoredMention.case_id.in_(ids)).group_by(StoredMention.case_id)
    return {m.case_id: m for m in session.scalars(select(StoredMention).where(StoredMention.id.in_(first)))}


@dataclass
class QueueCounts:
    """How many cases each filter value would show, within the not-closed cases (statuses) or the
    active ones (every other filter); a search narrows them all. Counted by `app.ui.queue_index`."""

    status: Counter[str] = field(default_factory=Counter)
    department: Counter[str] = field(default_factory=Counter)
    channel: Counter[str] = field(default_factory=Counter)
    priority: Counter[str] = field(default_factory=Counter)
    account: Counter[str] = field(default_factory=Counter)  # by account id; cases without one are not counted
    assignee: Counter[str] = field(default_factory=Counter)
    sla: Counter[str] = field(default_factory=Counter)
    active: int = 0

    def for_user(self, by_assignee: Counter[int | None], user_id: int | None) -> QueueCounts:
        """These counts with `assignee` (me, none, other) for `user_id`, from the active cases
        per assignee id."""
        mine = by_assignee[user_id] if user_id is not None else 0
        unassigned = by_assignee[None]
        return replace(self, assignee=Counter({"me": mine, "none": unassigned,
                                               "other": self.active - mine - unassigned}))

    def as_json(self) -> dict[str, object]:
        return {"active": self.active, **{name: dict(getattr(self, name)) for name in
                                          ("status", "department", "channel", "priority", "account", "assignee",
                                           "sla")}}
