"""`/api/v1/cases`: list and read cases."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from app.cases.queries import MAX_LIMIT, BadQuery, CaseFilter, case_thread, get_visible_case, list_cases
from app.cases.schemas import CaseDetailOut, CaseListOut, case_detail_out, case_out
from app.web.deps import Caller, DbSession
from app.web.problems import NotFound, ValidationProblem

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])

Status = Literal["open", "pending_department", "pending_customer", "resolved", "closed"]
Priority = Literal["P1", "P2", "P3", "P4"]
Sort = Literal["-created_at", "created_at", "-updated_at", "updated_at"]


@router.get("", response_model=CaseListOut, summary="List cases")
def get_cases(
    session: DbSession,
    principal: Caller,
    status: Annotated[list[Status], Query()] = [],  # noqa: B006  (FastAPI reads, never mutates)
    department: Annotated[list[str], Query()] = [],  # noqa: B006
    priority: Annotated[list[Priority], Query()] = [],  # noqa: B006
    channel: Annotated[list[str], Query()] = [],  # noqa: B006
    tag: Annotated[list[str], Query()] = [],  # noqa: B006
    assignee: Annotated[list[str], Query(description="`me`, `none` or a username")] = [],  # noqa: B006
    q: Annotated[str | None, Query(max_length=200, description="text, author or case ref")] = None,
    sort: Sort = "-created_at",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: str | None = None,
) -> CaseListOut:
    """Cases the caller may read, newest first by default; `next_cursor` pages on (keyset)."""
    filters = CaseFilter(status=status, department=department, priority=priority, channel=channel, tag=tag,
                         assignee=assignee, q=q, sort=sort, limit=limit, cursor=cursor)
    try:
        cases, next_cursor = list_cases(session, principal, filters)
    except BadQuery as exc:
        raise ValidationProblem([{"field": exc.field, "message": str(exc)}]) from exc
    return CaseListOut(items=[case_out(c) for c in cases], next_cursor=next_cursor)


@router.get("/{ref}", response_model=CaseDetailOut, summary="Read one case",
            responses={404: {"description": "No such case, or not visible to this department"}})
def get_case(ref: str, session: DbSession, principal: Caller) -> CaseDetailOut:
    """The case with its mentions, routing explanation, timeline and SLA history."""
    case = get_visible_case(session, principal, ref)
    if case is None:
        raise NotFound(f"no case {ref}")
    mentions, events = case_thread(session, case)
    return case_detail_out(case, mentions, events)
