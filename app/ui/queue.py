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
from app.cases.models import STATUSES, Case
from app.cases.queries import _search, timers_of
from app.cases.schemas import current_timers
from app.ingest.models import StoredMention

ACTIVE_STATUSES = ("open", "pending_department", "pending_customer")
NOT_CLOSED = (*ACTIVE_STATUSES, "resolved")
PRIORITIES = ("P1", "P2", "P3", "P4")
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
    return f"{_sortable(case.due_at)}|{case.priority}|{_sortable(case.created_at)}|{case.id:012d}"


def sla_condition(state: str) -> ColumnElement[bool]:
    """Cases whose worst active SLA timer is in `state` (warned or breached)."""
    return Case.sla_state == state


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
                   assignee=one("assignee", ASSIGNEE_VALUES), sla=one("sla", SLA_STATES), q=q)

    def params(self) -> list[tuple[str, str]]:
        pairs: list[tuple[str, str]] = [("status", s) for s in self.status]
        pairs += [("department", d) for d in self.department] + [("channel", c) for c in self.channel]
        pairs += [("priority", p) for p in self.priority]
        pairs += [(k, v) for k, v in (("assignee", self.assignee), ("sla", self.sla), ("q", self.q)) if v]
        return pairs

    def query_string(self) -> str:
        return urlencode(self.params())

    def with_(self, **changes: object) -> QueueFilter:
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def statuses(self) -> tuple[str, ...] | None:
        """The statuses shown; None for every status."""
        if "all" in self.status:
            return None
        if self.status:
            return self.status
        return None if self.q else ACTIVE_STATUSES


def queue_conditions(principal: Principal, f: QueueFilter) -> list[ColumnElement[bool]]:
    """The WHERE clause of the queue for `f` (the caller is a user: users see every case)."""
    conditions: list[ColumnElement[bool]] = []
    statuses = f.statuses
    if statuses is not None:
        conditions.append(Case.status.in_(statuses))
    for column, chosen in ((Case.department, f.department), (Case.channel, f.channel), (Case.priority, f.priority)):
        if chosen:
            conditions.append(column.in_(chosen))
    if f.assignee == "none":
        conditions.append(Case.assignee_id.is_(None))
    elif f.assignee == "me":
        conditions.append(Case.assignee_id == principal.user_id)
    if f.sla:
        conditions.append(sla_condition(f.sla))
    if f.q:
        conditions.append(_search(f.q))
    return conditions


def queue_cases(session: Session, principal: Principal, f: QueueFilter, *, limit: int = QUEUE_LIMIT) -> list[Case]:
    """The first `limit` cases of the queue, in queue order.

    Two steps: the ids first, which PostgreSQL answers from the partial index `ix_cases_queue`
    alone (migration 0006: the order and every filter column, for the not-closed cases only), then
    the `limit` rows themselves; the wide rows of the other cases are never read.
    """
    ids = list(session.scalars(select(Case.id).where(*queue_conditions(principal, f)).order_by(*queue_order())
                               .limit(limit)))
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
    active ones (every other filter); a search narrows them all."""

    status: Counter[str] = field(default_factory=Counter)
    department: Counter[str] = field(default_factory=Counter)
    channel: Counter[str] = field(default_factory=Counter)
    priority: Counter[str] = field(default_factory=Counter)
    assignee: Counter[str] = field(default_factory=Counter)
    sla: Counter[str] = field(default_factory=Counter)
    active: int = 0
    # (status, department, channel, priority, sla_state, assigned, n): the query's groups, from
    # which the total of any filter without a search is summed instead of counted again.
    groups: list[tuple[str, str, str, str, str | None, str, int]] = field(default_factory=list)

    def total(self, f: QueueFilter) -> int | None:
        """How many not-closed cases `f` shows, from the groups; None when `f` searches or shows
        closed cases (the groups do not cover those)."""
        statuses = f.statuses
        if f.q or statuses is None or not set(statuses) <= set(NOT_CLOSED):
            return None
        return sum(n for status, department, channel, priority, sla_state, assigned, n in self.groups
                   if status in statuses and (not f.department or department in f.department)
                   and (not f.channel or channel in f.channel) and (not f.priority or priority in f.priority)
                   and (f.assignee is None or assigned == f.assignee) and (f.sla is None or sla_state == f.sla))

    def as_json(self) -> dict[str, object]:
        return {"active": self.active, **{name: dict(getattr(self, name)) for name in
                                          ("status", "department", "channel", "priority", "assignee", "sla")}}


def queue_counts(session: Session, principal: Principal, f: QueueFilter) -> QueueCounts:
    """Per-filter counts in one grouped query over the not-closed cases (an index-only scan of
    `ix_cases_queue` on PostgreSQL)."""
    unassigned = Case.assignee_id.is_(None)
    mine = func.coalesce(Case.assignee_id == (principal.user_id or -1), False)
    conditions: list[ColumnElement[bool]] = [Case.status.in_(NOT_CLOSED)]
    if f.q:
        conditions.append(_search(f.q))
    rows = session.execute(
        select(Case.status, Case.department, Case.channel, Case.priority, Case.sla_state, unassigned, mine,
               func.count())
        .where(*conditions)
        .group_by(Case.status, Case.department, Case.channel, Case.priority, Case.sla_state, unassigned, mine)
    ).all()
    counts = QueueCounts()
    for status, department, channel, priority, sla_state, is_unassigned, is_mine, n in rows:
        assigned = "none" if is_unassigned else "me" if is_mine else "other"
        counts.groups.append((status, department, channel, priority, sla_state, assigned, n))
        counts.status[status] += n
        if status not in ACTIVE_STATUSES:
            continue
        counts.active += n
        counts.department[department] += n
        counts.channel[channel] += n
        counts.priority[priority] += n
        counts.assignee[assigned] += n
        if sla_state in SLA_STATES:
            counts.sla[sla_state] += n
    return counts
