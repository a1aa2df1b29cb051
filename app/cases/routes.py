"""`/api/v1/cases`: list and read cases."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from app.cases.queries import (
    MAX_LIMIT,
    BadQuery,
    CaseFilter,
    case_thread,
    get_visible_case,
    list_cases,
)
from app.cases.schemas import CaseDetailOut, CaseListOut, case_detail_out, case_out
from app.kernel.clock import utc_now
from app.kernel.vocabulary import Priority, StatusName
from app.observability import bind_case
from app.sla.timers import timers_of
from app.web.deps import Caller, DbSession
from app.web.problems import InvalidInput, NotFound

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])

Sort = Literal["-created_at", "created_at", "-updated_at", "updated_at", "due"]
SlaState = Literal["running", "warned", "breached", "paused"]
DUE_WITHIN = re.compile(r"^(\d+)([smhd])$")
MAX_DUE_WITHIN_DAYS = 3650


@router.get("", response_model=CaseListOut, summary="List cases")
def get_cases(
    session: DbSession,
    principal: Caller,
    status: Annotated[list[StatusName], Query()] = [],  # noqa: B006  (FastAPI reads, never mutates)
    department: Annotated[list[str], Query()] = [],  # noqa: B006
    priority: Annotated[list[Priority], Query()] = [],  # noqa: B006
    channel: Annotated[list[str], Query()] = [],  # noqa: B006
    account: Annotated[list[str], Query(description="our own account id the case's first mention "
                                        "reached (the case JSON's `account`)")] = [],  # noqa: B006
    tag: Annotated[list[str], Query()] = [],  # noqa: B006
    assignee: Annotated[list[str], Query(description="`me`, `none` or a username")] = [],  # noqa: B006
    sla: Annotated[list[SlaState], Query(description="the worst state of the case's active timers")] = [],  # noqa: B006
    due_within: Annotated[str | None, Query(pattern=r"^\d+[smhd]$", description="e.g. 30m: the nearest "
                                            "deadline falls within this wall-clock time (or has passed)")] = None,
    q: Annotated[str | None, Query(max_length=200, description="text, author or case ref")] = None,
    sort: Sort = "-created_at",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: str | None = None,
) -> CaseListOut:
    """Cases the caller may read, newest first by default; `next_cursor` pages on (keyset)."""
    now = utc_now()
    filters = CaseFilter(status=status, department=department, priority=priority, channel=channel,
                         account=account, tag=tag,
                         assignee=assignee, sla=sla, due_within=_duration(due_within), now=now, q=q, sort=sort,
                         limit=limit, cursor=cursor)
    try:
        cases, next_cursor = list_cases(session, principal, filters)
    except BadQuery as exc:
        raise InvalidInput([{"field": exc.field, "message": str(exc)}]) from exc
    timers = timers_of(session, [c.id for c in cases])
    return CaseListOut(items=[case_out(c, timers[c.id], now) for c in cases], next_cursor=next_cursor)


def _duration(text: str | None) -> timedelta | None:
    if text is None:
        return None
    match = DUE_WITHIN.match(text)
    assert match is not None  # the query pattern admitted it
    seconds = int(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    if seconds > MAX_DUE_WITHIN_DAYS * 86400:  # further out would overflow a timestamp
        raise InvalidInput([{"field": "due_within", "message": f"at most {MAX_DUE_WITHIN_DAYS}d"}])
    return timedelta(seconds=seconds)


@router.get("/{ref}", response_model=CaseDetailOut, summary="Read one case",
            responses={404: {"description": "No such case, or not visible to this department"}})
def get_case(ref: str, request: Request, session: DbSession, principal: Caller) -> CaseDetailOut:
    """The case with its mentions, routing explanation, timeline and SLA history."""
    case = get_visible_case(session, principal, ref)
    if case is None:
        raise NotFound(f"no case {ref}")
    bind_case(case.ref)
    mentions, events = case_thread(session, case)
    return case_detail_out(case, mentions, events, timers_of(session, [case.id])[case.id], utc_now(),
                           suggest=getattr(request.app.state, "suggest_department", None), session=session)
