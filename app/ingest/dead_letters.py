"""Inbound dead letters (SPEC §2): authentic platform bodies the adapter could not parse, kept byte
for byte so nothing acknowledged is lost, listed for ops and replayed after a fix.

Service functions take the session and never commit. Routes: `GET /api/v1/inbound/dead-letters`
and `POST /api/v1/inbound/dead-letters/{id}/replay` (role ops).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import record
from app.audit.service import ActorLike
from app.auth.service import Principal
from app.ingest.adapters import parse_platform_body
from app.ingest.models import InboundDeadLetter
from app.ingest.service import IngestResult, ingest_mentions
from app.kernel.clock import utc_now
from app.kernel.errors import Conflict, InvalidInput, NotFound
from app.kernel.json_input import MAX_ID
from app.rules import RuleSet
from app.rules.hits import record_hits
from app.web.deps import ActiveRuleSet, DbSession, RowId, require_role

STATUSES = ("pending", "replayed", "erased")  # erased: body blanked (`app.privacy`), never replayed
MAX_SHOWN_BODY = 64 * 1024


def keep_dead_letter(session: Session, *, connector: str, kind: str, body: bytes, failures: list[str],
                     content_type: str | None, now: datetime) -> InboundDeadLetter:
    """Store an authentic body that did not parse (wholly or in part), pending a replay."""
    letter = InboundDeadLetter(connector=connector, kind=kind, body=body, content_type=content_type,
                               error="\n".join(failures), events_failed=len(failures), status="pending",
                               replays=0, received_at=now)
    session.add(letter)
    return letter


@dataclass(frozen=True)
class ReplayOutcome:
    """What a replay did: the ingest counts, and whether the whole body now parses."""

    letter: InboundDeadLetter
    result: IngestResult
    replayed: bool


def replay_dead_letter(session: Session, letter: InboundDeadLetter, *, ruleset: RuleSet,
                       now: datetime, actor: ActorLike) -> ReplayOutcome:
    """Run the stored body through the current adapter and ingest path again.

    Events that were ingested on receipt come back as duplicates. The letter becomes `replayed`
    only when every part now parses; otherwise it stays `pending` with the new error. A connector
    that is no longer configured is a Conflict (nothing changes, nothing audited); every replay
    that ran is audited as `dead_letter.replayed` (with `replayed: false` when parts still fail).
    """
    connector = ruleset.connectors.get(letter.connector)
    if connector is None or connector.kind == "standard":
        raise Conflict(f"connector {letter.connector!r} is no longer a configured platform connector", allowed=[])
    parsed = parse_platform_body(connector, letter.body)
    result = ingest_mentions(session, ruleset=ruleset, connector=letter.connector, items=parsed.items,
                             received_at=now)
    record_hits(session, result.decisions, now=now)  # the mentions stored now count as ingest's do
    result.dead_lettered = len(parsed.failures)
    letter.replays += 1
    letter.last_result = result.to_json()
    if parsed.failures:
        letter.error = "\n".join(parsed.failures)
        letter.events_failed = len(parsed.failures)
    else:
        letter.status = "replayed"
        letter.replayed_at = now
    session.flush()
    record(session, actor, "dead_letter.replayed", f"dead_letter:{letter.id}",
           {"connector": letter.connector, "replayed": not parsed.failures, "accepted": result.accepted}, now)
    return ReplayOutcome(letter=letter, result=result, replayed=not parsed.failures)


def pending_dead_letters(session: Session, *, connector: str | None = None,
                         ids: list[int] | None = None) -> list[InboundDeadLetter]:
    """Pending letters, oldest first, optionally of one connector or with the given ids."""
    query = select(InboundDeadLetter).where(InboundDeadLetter.status == "pending")
    if connector:
        query = query.where(InboundDeadLetter.connector == connector)
    if ids:
        query = query.where(InboundDeadLetter.id.in_(ids))
    return list(session.scalars(query.order_by(InboundDeadLetter.id)))


class DeadLetterOut(BaseModel):
    id: int
    connector: str
    kind: str
    status: str
    error: str
    events_failed: int
    replays: int
    received_at: datetime
    replayed_at: datetime | None
    content_type: str | None
    body: str
    body_encoding: str
    last_result: dict[str, Any] | None


class DeadLetterListOut(BaseModel):
    items: list[DeadLetterOut]
    next_cursor: str | None


class ReplayOut(BaseModel):
    dead_letter: DeadLetterOut
    result: dict[str, Any]


def dead_letter_out(letter: InboundDeadLetter) -> DeadLetterOut:
    """The JSON of a letter; the body as text when it is UTF-8, else base64 (`body_encoding`)."""
    body = letter.body[:MAX_SHOWN_BODY]
    try:
        shown, encoding = body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        shown, encoding = base64.b64encode(body).decode(), "base64"
    return DeadLetterOut(id=letter.id, connector=letter.connector, kind=letter.kind, status=letter.status,
                         error=letter.error, events_failed=letter.events_failed, replays=letter.replays,
                         received_at=letter.received_at, replayed_at=letter.replayed_at,
                         content_type=letter.content_type, body=shown, body_encoding=encoding,
                         last_result=letter.last_result)


router = APIRouter(prefix="/api/v1/inbound", tags=["inbound dead letters"])
OpsOnly = require_role("ops")


@router.get("/dead-letters", response_model=DeadLetterListOut, dependencies=[OpsOnly],
            summary="Authentic platform bodies that could not be parsed")
def list_dead_letters(session: DbSession, status: Annotated[list[str] | None, Query()] = None,
                      connector: Annotated[list[str] | None, Query()] = None,
                      limit: Annotated[int, Query(ge=1, le=200)] = 50,
                      cursor: Annotated[str | None, Query(description="opaque; from next_cursor")] = None,
                      ) -> DeadLetterListOut:
    """Newest first; filter by `status` (pending, replayed, erased) and `connector`."""
    query = select(InboundDeadLetter)
    if status:
        unknown = [s for s in status if s not in STATUSES]
        if unknown:
            raise InvalidInput([{"field": "status", "message": f"one of {', '.join(STATUSES)}"}])
        query = query.where(InboundDeadLetter.status.in_(status))
    if connector:
        query = query.where(InboundDeadLetter.connector.in_(connector))
    if cursor:
        if not cursor.isdigit() or int(cursor) > MAX_ID:
            raise InvalidInput([{"field": "cursor", "message": "not a cursor of this list"}])
        query = query.where(InboundDeadLetter.id < int(cursor))
    rows = list(session.scalars(query.order_by(InboundDeadLetter.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return DeadLetterListOut(items=[dead_letter_out(r) for r in rows],
                             next_cursor=str(rows[-1].id) if more and rows else None)


@router.post("/dead-letters/{letter_id}/replay", response_model=ReplayOut, summary="Process a dead letter again")
def replay(letter_id: RowId, session: DbSession, ruleset: ActiveRuleSet,
           principal: Annotated[Principal, OpsOnly]) -> ReplayOut:
    """Parse and ingest the stored body again with the current adapters and rules; the answer holds
    the ingest counts (`dead_lettered` > 0: parts still fail, the letter stays pending)."""
    letter = session.get(InboundDeadLetter, letter_id)
    if letter is None:
        raise NotFound(f"no dead letter {letter_id}")
    if letter.status != "pending":
        raise Conflict(f"dead letter {letter_id} is {letter.status}, not pending", allowed=[])
    outcome = replay_dead_letter(session, letter, ruleset=ruleset, now=utc_now(), actor=principal)
    return ReplayOut(dead_letter=dead_letter_out(outcome.letter), result=outcome.result.to_json())
