"""The queries behind case lists: filters, search and keyset pagination."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select, true
from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.service import Principal
from app.cases.models import Case, CaseEvent, CaseOwner, CaseTag
from app.kernel.clock import utc_now
from app.kernel.json_input import MAX_ID
from app.kernel.refs import parse_ref
from app.mentions.stored import StoredMention

SORTS = ("-created_at", "created_at", "-updated_at", "updated_at", "due")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class BadQuery(ValueError):
    """A filter, sort or cursor the list cannot use; `field` names the parameter."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class CaseFilter:
    """Filters of `GET /api/v1/cases`: values within one filter are OR-ed, filters are AND-ed."""

    status: Sequence[str] = ()
    department: Sequence[str] = ()
    priority: Sequence[str] = ()
    channel: Sequence[str] = ()
    account: Sequence[str] = ()
    tag: Sequence[str] = ()
    assignee: Sequence[str] = ()
    sla: Sequence[str] = ()
    due_within: timedelta | None = None
    now: datetime | None = None
    q: str | None = None
    sort: str = "-created_at"
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


def visible_cases(principal: Principal) -> ColumnElement[bool]:
    """Users see every case; a department sees the cases it owns or has owned."""
    if principal.kind == "department":
        return exists().where(CaseOwner.case_id == Case.id, CaseOwner.department == principal.department)
    return true()


def get_visible_case(session: Session, principal: Principal, ref: str) -> Case | None:
    """The case `ref` names if the principal may read it, else None (a 404 either way)."""
    case_id = parse_ref(ref)
    if case_id is None:
        return None
    return session.scalar(select(Case).where(Case.id == case_id, visible_cases(principal)))


def list_cases(session: Session, principal: Principal, filters: CaseFilter) -> tuple[list[Case], str | None]:
    """One page of cases and the cursor of the next page (None on the last page)."""
    if filters.sort not in SORTS:
        raise BadQuery("sort", f"sort must be one of {', '.join(SORTS)}")
    if filters.sort == "due":
        return _list_by_due(session, principal, filters)
    column = Case.created_at if filters.sort.endswith("created_at") else Case.updated_at
    descending = filters.sort.startswith("-")
    query = select(Case).where(visible_cases(principal), *case_conditions(principal, filters, session=session))
    if filters.cursor:
        last_value, last_id = decode_cursor(filters.cursor)
        if descending:
            query = query.where(or_(column < last_value, and_(column == last_value, Case.id < last_id)))
        else:
            query = query.where(or_(column > last_value, and_(column == last_value, Case.id > last_id)))
    order = (column.desc(), Case.id.desc()) if descending else (column.asc(), Case.id.asc())
    rows = list(session.scalars(query.order_by(*order).limit(filters.limit + 1)))
    if len(rows) <= filters.limit:
        return rows, None
    rows = rows[: filters.limit]
    last = rows[-1]
    return rows, encode_cursor(last.created_at if column is Case.created_at else last.updated_at, last.id)


def _list_by_due(session: Session, principal: Principal, filters: CaseFilter) -> tuple[list[Case], str | None]:
    """Nearest SLA deadline first; cases without a running deadline last (by id)."""
    query = select(Case).where(visible_cases(principal), *case_conditions(principal, filters, session=session))
    if filters.cursor:
        last_value, last_id = decode_cursor(filters.cursor, nullable=True)
        if last_value is None:
            query = query.where(Case.due_at.is_(None), Case.id > last_id)
        else:
            query = query.where(or_(Case.due_at > last_value, and_(Case.due_at == last_value, Case.id > last_id),
                                    Case.due_at.is_(None)))
    query = query.order_by(Case.due_at.is_(None), Case.due_at.asc(), Case.id.asc())
    rows = list(session.scalars(query.limit(filters.limit + 1)))
    if len(rows) <= filters.limit:
        return rows, None
    rows = rows[: filters.limit]
    return rows, encode_cursor(rows[-1].due_at, rows[-1].id)


def case_thread(session: Session, case: Case) -> tuple[list[StoredMention], list[CaseEvent]]:
    """The case's mentions (oldest first) and timeline (in order)."""
    mentions = list(session.scalars(
        select(StoredMention).where(StoredMention.case_id == case.id).order_by(StoredMention.received_at,
                                                                               StoredMention.id)))
    events = list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)))
    return mentions, events


def encode_cursor(value: datetime | None, case_id: int) -> str:
    raw = json.dumps([value.isoformat() if value else None, case_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *, nullable: bool = False) -> tuple[datetime, int]:
    """The position a cursor points after; BadQuery when it is not one of ours. With `nullable`
    the position may be "no deadline" (returned as None, typed loosely for the caller)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, case_id = json.loads(raw)
        if not isinstance(case_id, int) or not 0 <= case_id <= MAX_ID:
            raise ValueError
        if value is None and nullable:
            return None, case_id  # type: ignore[return-value]
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None or not isinstance(case_id, int):
            raise ValueError
        return moment, case_id
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError) as exc:
        raise BadQuery("cursor", "the cursor is not valid; start again without one") from exc


def value_conditions(filters: object, fields: Sequence[str]) -> list[ColumnElement[bool]]:
    """`Case.<field> IN (<filters.field>)` for each of `fields` that `filters` sets: the SQL side of
    a value filter, named by the case field it tests (the queue index tests its entries' field of
    the same name: `app.ui.queue_index.select_entries`)."""
    return [getattr(Case, name).in_(chosen) for name in fields if (chosen := getattr(filters, name))]


VALUE_FILTERS = ("department", "channel", "priority", "account")
"""The value filters, each named by the case field it tests (`value_conditions`; the queue index
tests its entries' field of the same name: `app.ui.queue_index.select_entries`)."""


def case_conditions(principal: Principal, f: CaseFilter, *,
                    session: Session | None = None) -> list[ColumnElement[bool]]:
    """The one definition of the case filters as SQL: the API's list and the UI queue (through
    `app.ui.queue.QueueFilter.case_filter`) both use it, and the UI's in-memory index is held to
    it by one shared test table (tests/ui/test_queue_index.py). `session` is needed only to find
    an assignee named by username."""
    conditions = value_conditions(f, ("status", *VALUE_FILTERS))
    if f.tag:
        conditions.append(exists().where(CaseTag.case_id == Case.id, CaseTag.tag.in_(f.tag)))
    if f.assignee:
        conditions.append(or_(*(_assignee_condition(session, principal, a) for a in f.assignee)))
    if f.sla:
        conditions.append(Case.sla_state.in_(f.sla))
    if f.due_within is not None:
        conditions.append(Case.due_at <= (f.now or utc_now()) + f.due_within)
    if f.q and f.q.strip():
        conditions.append(search_condition(f.q.strip()))
    return conditions


def _assignee_condition(session: Session | None, principal: Principal, value: str) -> ColumnElement[bool]:
    if value == "none":
        return Case.assignee_id.is_(None)
    if value == "me":
        if principal.user_id is None:
            raise BadQuery("assignee", "assignee=me needs a user token")
        return Case.assignee_id == principal.user_id
    if session is None:
        raise ValueError("filtering by a username needs a session")
    user_id = session.scalar(select(User.id).where(User.username == value))
    return Case.assignee_id == user_id if user_id is not None else false()


def search_condition(q: str) -> ColumnElement[bool]:
    """Case ref, text of any mention, or the author's handle or name (case-insensitive substring)."""
    pattern = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    in_mentions = exists().where(
        StoredMention.case_id == Case.id,
        or_(func.lower(StoredMention.text).like(pattern, escape="\\"),
            func.lower(StoredMention.author_handle).like(pattern, escape="\\"),
            func.lower(StoredMention.author_name).like(pattern, escape="\\")),
    )
    case_id = parse_ref(q)
    return or_(Case.id == case_id, in_mentions) if case_id is not None else in_mentions
