"""`/api/v1/incidents`: the storms the incident check opened, their cases, an agent's close and
one reply to every case. Users only (department systems hear about incidents through events)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from app.cases.models import Case
from app.incidents.events import incident_json
from app.incidents.models import Incident
from app.incidents.service import case_counts, close_incident, incident_case_ids, respond_to_incident
from app.kernel.clock import utc_now
from app.web.deps import ActiveRuleSet, Caller, DbSession, RowId, require_role
from app.web.idempotency import request_fingerprint, run_idempotent
from app.web.problems import NotFound

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"], dependencies=[require_role("agent")])
IdempotencyKeyHeader = Annotated[str | None, Header(alias="Idempotency-Key",
                                                    description="repeat a request safely (kept 24 h)")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such incident"}}


class IncidentOut(BaseModel):
    id: int
    watch: str = Field(description="the id of the watch in incidents.yaml")
    title: str
    status: Literal["open", "closed"]
    opened_at: datetime
    last_hot_at: datetime = Field(description="the last check that found the watch hot")
    closed_at: datetime | None
    closed_by: str | None = Field(description="calm, watch-removed, or the user who closed it")
    usual: float = Field(description="the usual number of matching mentions per window when it opened")
    needed: int = Field(description="the smallest hot count when it opened")
    peak: int = Field(description="the most matching mentions seen in one window")
    case_count: int


class IncidentCaseOut(BaseModel):
    ref: str
    status: str
    department: str
    category: str
    priority: str
    channel: str
    created_at: datetime


class IncidentDetailOut(IncidentOut):
    cases: list[IncidentCaseOut]


class IncidentPage(BaseModel):
    items: list[IncidentOut]


class RespondAllIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, Field(min_length=1, max_length=20_000)]
    send: bool = Field(description="send through each case's platform when its connector can; else record it")


class CaseResponseOut(BaseModel):
    case: str
    outcome: Literal["responded", "skipped"]
    delivery: Literal["queued", "recorded"] | None = None
    reply_id: int | None = None
    reason: str | None = None


class RespondAllOut(BaseModel):
    incident: IncidentOut
    responses: list[CaseResponseOut]


class CloseIncidentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _out(incident: Incident, count: int) -> IncidentOut:
    return IncidentOut.model_validate(incident_json(incident, count))


def _locked(session: DbSession, incident_id: int) -> Incident:
    incident = session.scalar(select(Incident).where(Incident.id == incident_id).with_for_update()
                              .execution_options(populate_existing=True))
    if incident is None:
        raise NotFound(f"no incident {incident_id}")
    return incident


@router.get("", response_model=IncidentPage, summary="Incidents, newest first")
def list_incidents(session: DbSession,
                   status: Annotated[Literal["open", "closed"] | None, Query()] = None,
                   limit: Annotated[int, Query(ge=1, le=200)] = 50) -> IncidentPage:
    """Every incident (or those with `status`), newest first, with how many cases each groups."""
    query = select(Incident).order_by(Incident.opened_at.desc(), Incident.id.desc()).limit(limit)
    rows = list(session.scalars(query.where(Incident.status == status) if status else query))
    counts = case_counts(session, [r.id for r in rows])
    return IncidentPage(items=[_out(r, counts.get(r.id, 0)) for r in rows])


@router.get("/{incident_id}", response_model=IncidentDetailOut, summary="An incident with its cases",
            responses=NOT_FOUND)
def get_incident(incident_id: RowId, session: DbSession) -> IncidentDetailOut:
    """The incident and every case it groups, oldest case first."""
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"no incident {incident_id}")
    ids = incident_case_ids(session, incident.id)
    cases = list(session.scalars(select(Case).where(Case.id.in_(ids)).order_by(Case.id))) if ids else []
    return IncidentDetailOut(**_out(incident, len(ids)).model_dump(), cases=[
        IncidentCaseOut(ref=c.ref, status=c.status, department=c.department, category=c.category,
                        priority=c.priority, channel=c.channel, created_at=c.created_at) for c in cases])


@router.post("/{incident_id}/close", response_model=IncidentOut, summary="Close an incident before the calm",
             responses={**NOT_FOUND, 409: {"description": "Closed already"}})
def post_close(incident_id: RowId, body: CloseIncidentIn, request: Request, session: DbSession, principal: Caller,
               ruleset: ActiveRuleSet, idempotency_key: IdempotencyKeyHeader = None) -> Any:
    """Agents. Closes it now (`closed_by` is the user) and sends `incident.closed`; its cases stay
    as they are. A new storm of the same watch opens a new incident."""
    incident = _locked(session, incident_id)
    now = utc_now()

    def act() -> IncidentOut:
        close_incident(session, incident, by=principal.name, ruleset=ruleset, now=now)
        return _out(incident, len(incident_case_ids(session, incident.id)))

    return run_idempotent(session, key=idempotency_key, principal=principal, now=now, act=act,
                          fingerprint=request_fingerprint("POST", request.url.path, {}))


@router.post("/{incident_id}/respond", response_model=RespondAllOut, summary="Answer every case with one reply",
             responses={**NOT_FOUND, 422: {"description": "Invalid body, or an Idempotency-Key reused with "
                                                          "another body"}})
def post_respond(incident_id: RowId, body: RespondAllIn, request: Request, session: DbSession, principal: Caller,
                 ruleset: ActiveRuleSet, idempotency_key: IdempotencyKeyHeader = None) -> Any:
    """Agents. The same text answers each case of the incident, open or closed incident alike: each
    case records its own `responded` entry and, with `send: true`, queues its own reply on its own
    platform (sent after the commit, retried, and flagged `reply-failed`/`reply-unconfirmed` like
    any reply). Cases whose state refuses a reply (closed, merged) are listed as `skipped`. All
    cases are answered in one transaction: all or none. Send an Idempotency-Key to retry safely."""
    incident = _locked(session, incident_id)
    now = utc_now()
    payload = body.model_dump()

    def act() -> RespondAllOut:
        outcomes = respond_to_incident(session, incident, text=body.text, send=body.send, principal=principal,
                                       ruleset=ruleset, now=now)
        return RespondAllOut(incident=_out(incident, len(incident_case_ids(session, incident.id))),
                             responses=[CaseResponseOut(**o) for o in outcomes])

    return run_idempotent(session, key=idempotency_key, principal=principal, now=now, act=act,
                          fingerprint=request_fingerprint("POST", request.url.path, payload))
