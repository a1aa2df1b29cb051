"""`POST /api/v1/cases/{ref}/feedback`: the customer's survey answer, from a survey tool or an agent."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, ConfigDict, Field

from app.auth.service import Principal
from app.cases.models import Case
from app.feedback.service import Answer, feedback_json, record_feedback
from app.web.case_requests import run_case_request
from app.web.deps import ActiveRuleSet, DbSession, any_principal
from app.web.problems import Forbidden

router = APIRouter(prefix="/api/v1/cases", tags=["customer satisfaction"])


def feedback_principal(principal: Annotated[Principal, Depends(any_principal)]) -> Principal:
    """Who may record feedback: an integration token (a survey tool) or a user (an agent writing
    down what the customer said); department systems may not (403)."""
    if principal.kind not in ("integration", "user"):
        raise Forbidden("feedback is recorded by a survey tool's integration token or by an agent")
    return principal


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    score: Annotated[int, Field(ge=0, le=10, description="0-10: how likely to recommend us (NPS)")]
    csat: Annotated[int | None, Field(ge=1, le=5, description="1-5: how satisfied (CSAT)")] = None
    comment: Annotated[str | None, Field(max_length=4000)] = None


class FeedbackSourceOut(BaseModel):
    type: str = Field(description="integration or user")
    name: str


class FeedbackOut(BaseModel):
    """The case's answer as stored. `agent` is the user who sent the case's last response when it
    was recorded; `replaced`: an earlier answer was replaced (it stays in the timeline)."""

    case: str
    score: int
    csat: int | None
    comment: str | None
    agent: str | None
    department: str
    channel: str
    source: FeedbackSourceOut
    received_at: datetime
    replaced: bool


@router.post("/{ref}/feedback", summary="Record the customer's satisfaction (NPS score, CSAT)",
             response_model=FeedbackOut, responses={
                 403: {"description": "A department token (only integrations and users record feedback)"},
                 404: {"description": "No such case"},
                 422: {"description": "Invalid body (score 0-10, csat 1-5), or an Idempotency-Key reused"}})
def post_feedback(ref: str, body: FeedbackIn, request: Request, session: DbSession, ruleset: ActiveRuleSet,
                  principal: Annotated[Principal, Depends(feedback_principal)],
                  idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key",
                                                                description="repeat a request safely (kept 24 h)")]
                  = None) -> Any:
    """One answer per case: a second replaces the first (both are in the timeline as
    `feedback_received`). Sends `feedback.received` to the owning department. For a survey tool's
    integration token (`webcare tokens create --integration NAME`, which may do nothing else) and
    for users (an agent recording what the customer said)."""
    def act(case: Case, now: datetime) -> FeedbackOut:
        row, replaced = record_feedback(session, case, Answer(body.score, body.csat, body.comment),
                                        principal=principal, ruleset=ruleset, now=now)
        return FeedbackOut(case=case.ref, **feedback_json(row), replaced=replaced)

    return run_case_request(session, principal, ref, request, body.model_dump(), idempotency_key, act)
