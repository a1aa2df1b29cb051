"""`GET /api/v1/audit`: the audit log, for ops."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, Field

from app.audit.actions import ACTIONS
from app.audit.models import AuditEntry
from app.audit.service import AuditFilter, list_entries
from app.web.cursors import decode_cursor, encode_cursor
from app.web.deps import DbSession, require_role
from app.web.problems import InvalidInput

router = APIRouter(prefix="/api/v1", tags=["audit"])


class AuditEntryOut(BaseModel):
    """One recorded change. `details` never holds a secret or a customer's personal data."""

    id: int
    at: datetime
    actor_type: str = Field(description="user | department | integration | cli | system")
    actor: str = Field(description="the username, department id, the account that ran the command (cli), "
                                   "or system")
    action: str = Field(examples=["user.created"])
    target: str = Field(examples=["user:ann"], description="what was changed: user:NAME, token:ID, "
                                                           "department:ID, delivery:ID, dead_letter:ID, rules")
    details: dict[str, Any] = Field(description="the change's facts; `via` (api, ui, cli) says how a "
                                                "person's change came in")


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next (older) page; null on the last")


def entry_out(row: AuditEntry) -> AuditEntryOut:
    return AuditEntryOut(id=row.id, at=row.at, actor_type=row.actor_type, actor=row.actor, action=row.action,
                         target=row.target, details=row.details)


@router.get("/audit", response_model=AuditPage, summary="The audit log: who changed what, when",
            dependencies=[require_role("ops")])
def get_audit(
    session: DbSession,
    since: Annotated[AwareDatetime | None, Query(alias="from", description="entries at or after this instant")]
    = None,
    until: Annotated[AwareDatetime | None, Query(alias="to", description="entries before this instant")] = None,
    actor: Annotated[list[str] | None, Query(description="username, department id, cli account or system")]
    = None,
    action: Annotated[list[str] | None, Query(description="e.g. user.created; repeat for several")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(description="opaque; from next_cursor")] = None,
) -> AuditPage:
    """Ops. Newest first, in pages of `limit` with a keyset `cursor` (stable while entries are
    added). Repeat `actor` or `action` for several values."""
    errors = [{"field": "action", "message": f"unknown action {a}; one of {', '.join(ACTIONS)}"}
              for a in action or () if a not in ACTIONS]
    if since is not None and until is not None and until <= since:
        errors.append({"field": "to", "message": "must be after from"})
    if errors:
        raise InvalidInput(errors)
    rows, next_before = list_entries(session, AuditFilter(
        since=since, until=until, actor=actor or (), action=action or (), limit=limit,
        before_id=decode_cursor("a", cursor) if cursor else None))
    return AuditPage(items=[entry_out(row) for row in rows],
                     next_cursor=encode_cursor("a", next_before) if next_before is not None else None)
