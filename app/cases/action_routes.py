"""`POST /api/v1/cases/{ref}/<action>` (SPEC §2 "Case actions"); each answers 200 with the case."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, ConfigDict, Field

from app.cases.actions import ActionRequest, perform_action
from app.cases.models import Case
from app.cases.queries import case_thread
from app.cases.schemas import CaseDetailOut, case_detail_out
from app.kernel.vocabulary import Priority
from app.sla.timers import timers_of
from app.web.case_requests import run_case_request
from app.web.deps import ActiveRuleSet, Caller, DbSession

router = APIRouter(prefix="/api/v1/cases", tags=["case actions"])

IdempotencyKeyHeader = Annotated[str | None, Header(alias="Idempotency-Key",
                                                    description="repeat a request safely (kept 24 h)")]
ACTION_RESPONSES: dict[int | str, dict[str, Any]] = {
    403: {"description": "The caller may not take this action on this case"},
    404: {"description": "No such case, or not visible to this department"},
    409: {"description": "Not allowed in the case's state; `allowed` lists the actions that are"},
    422: {"description": "Invalid body, or an Idempotency-Key reused with another body"},
}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Empty(_Body):
    pass


class AcknowledgeIn(_Body):
    external_ref: Annotated[str, Field(max_length=200, description="the department's own ticket reference")] | None \
        = None


class NotesIn(_Body):
    text: Annotated[str, Field(min_length=1, max_length=20_000)]


class RequestInfoIn(_Body):
    question: Annotated[str, Field(min_length=1, max_length=20_000)]


class ResolveIn(_Body):
    resolution: Annotated[str, Field(max_length=20_000)] | None = None


class RerouteIn(_Body):
    department: str | None = Field(default=None, description="the department to route to; triage when left out")
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class AssignIn(_Body):
    user: Annotated[str, Field(min_length=1, max_length=64)]


class HandoffIn(_Body):
    department: Annotated[str, Field(min_length=1, max_length=64)]
    reason: Annotated[str, Field(max_length=2000)] | None = None


class RespondIn(_Body):
    text: Annotated[str, Field(min_length=1, max_length=20_000)]
    send: bool = Field(description="send through the platform when the connector can; else record it as sent")


class PriorityIn(_Body):
    priority: Priority


class CloseIn(_Body):
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class ReopenIn(_Body):
    reason: Annotated[str, Field(max_length=2000)] | None = None


class TagIn(_Body):
    tags: Annotated[list[Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\s,]+$")]],
                    Field(min_length=1, max_length=20, description="tags to add (ones the case has are kept)")]


class MergeIn(_Body):
    into: Annotated[str, Field(pattern=r"^WC-\d{6,}$")]


def _act(name: str, ref: str, body: BaseModel, request: Request, session: DbSession, principal: Caller,
         ruleset: ActiveRuleSet, key: str | None) -> Any:
    payload = body.model_dump()

    def act(case: Case, now: datetime) -> CaseDetailOut:
        perform_action(session, case, ActionRequest(name, payload), principal=principal, ruleset=ruleset, now=now)
        mentions, events = case_thread(session, case)
        return case_detail_out(case, mentions, events, timers_of(session, [case.id])[case.id], now,
                               suggest=getattr(request.app.state, "suggest_department", None), session=session)

    return run_case_request(session, principal, ref, request, payload, key, act)


def _route(name: str, model: type[BaseModel], summary: str, who: str) -> None:
    def endpoint(ref: str, body: BaseModel, request: Request, session: DbSession,
                 principal: Caller, ruleset: ActiveRuleSet, idempotency_key: IdempotencyKeyHeader = None) -> Any:
        return _act(name, ref, body, request, session, principal, ruleset, idempotency_key)

    endpoint.__annotations__["body"] = model  # each action documents its own body
    endpoint.__name__ = "case_" + name.replace("-", "_")
    endpoint.__doc__ = f"{summary} ({who})."
    router.add_api_route(f"/{{ref}}/{name}", endpoint, methods=["POST"], response_model=CaseDetailOut,
                         summary=summary, responses=ACTION_RESPONSES)


for _name, _model, _summary, _who in (
    ("acknowledge", AcknowledgeIn, "Acknowledge ownership", "owning department"),
    ("notes", NotesIn, "Add a note", "agents, owning department"),
    ("request-info", RequestInfoIn, "Ask webcare to ask the customer", "owning department"),
    ("resolve", ResolveIn, "Resolve", "agents, owning department"),
    ("reroute", RerouteIn, "Route to another department or back to triage", "owning department"),
    ("claim", Empty, "Assign to yourself", "agents"),
    ("assign", AssignIn, "Assign to a user", "agents: themselves; leads: anyone"),
    ("handoff", HandoffIn, "Hand off to a department (or back to webcare)", "agents"),
    ("respond", RespondIn, "Reply to the customer", "agents"),
    ("pending-customer", Empty, "Wait for the customer", "agents"),
    ("resume", Empty, "Stop waiting for the customer", "agents"),
    ("priority", PriorityIn, "Change the priority", "agents"),
    ("tag", TagIn, "Add tags", "agents"),
    ("close", CloseIn, "Close", "agents"),
    ("reopen", ReopenIn, "Reopen", "agents"),
    ("merge", MergeIn, "Merge into another case", "agents"),
):
    _route(_name, _model, _summary, _who)
