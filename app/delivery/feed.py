"""`GET /api/v1/events`: a department's own events, oldest first, for systems that pull."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import select

from app.delivery.models import DepartmentEvent
from app.kernel.errors import Forbidden, InvalidInput
from app.kernel.json_input import MAX_ID
from app.web.deps import Caller, DbSession

router = APIRouter(prefix="/api/v1", tags=["events"])


class EventOut(BaseModel):
    """One event, shaped as the webhook body plus its feed id."""

    id: int
    type: str
    timestamp: datetime
    data: dict[str, Any]


class EventPage(BaseModel):
    items: list[EventOut]
    next_cursor: str | None


def _encode(event_id: int) -> str:
    return base64.urlsafe_b64encode(f"e{event_id}".encode()).decode().rstrip("=")


def _decode(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith("e") or not raw[1:].isdigit() or int(raw[1:]) > MAX_ID:
            raise ValueError
        return int(raw[1:])
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput([{"field": "cursor", "message": "not a cursor of this feed"}]) from exc


@router.get("/events", response_model=EventPage, summary="The department's events after a cursor")
def list_events(
    session: DbSession,
    principal: Caller,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    department: Annotated[str | None, Query(description="ops only: read another department's feed")] = None,
) -> EventPage:
    """Oldest first. `next_cursor` points after the last item returned; keep it and ask again to
    receive what happened since (it is null only when this page is empty: keep your old cursor)."""
    if principal.kind == "department":
        if department not in (None, principal.department):
            raise Forbidden("a department reads only its own events")
        department = principal.department
    elif not principal.has_role("ops") or department is None:
        raise Forbidden("department tokens read their own feed; ops may read one with ?department=")
    after = _decode(cursor) if cursor else 0
    rows = session.scalars(select(DepartmentEvent).where(DepartmentEvent.department == department,
                                                         DepartmentEvent.id > after)
                           .order_by(DepartmentEvent.id).limit(limit)).all()
    items = [EventOut(id=r.id, type=r.body["type"], timestamp=r.created_at, data=r.body["data"]) for r in rows]
    return EventPage(items=items, next_cursor=_encode(rows[-1].id) if rows else None)
