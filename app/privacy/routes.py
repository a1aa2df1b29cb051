"""`POST /api/v1/privacy/erasure` and `POST /api/v1/privacy/export`: ops erase or export what is
stored about one author (AVG/GDPR). Each request is one transaction (`app.web.deps.db_session`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header
from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.audit import record
from app.kernel.clock import utc_now
from app.privacy.erasure import ERASURE_KINDS, AuthorRef, erase_author, export_author
from app.web.deps import Caller, DbSession, require_role
from app.web.idempotency import request_fingerprint, run_idempotent

router = APIRouter(prefix="/api/v1/privacy", tags=["privacy"])

RESPONSES: dict[int | str, dict[str, Any]] = {
    403: {"description": "Only ops may erase or export personal data"},
    422: {"description": "Name exactly one of `connector` and `channel`, and `author_id` or `handle` (or both)"},
}


class DataSubjectIn(BaseModel):
    """One author: where (`connector`, or `channel` for every connector of that channel) and who
    (`author_id`, the platform's id, and/or `handle`, compared case-insensitively with or without
    a leading `@`)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"connector": "x-telco", "handle": "@jan_devries"}, {"channel": "whatsapp", "author_id": "31612345678"}]})

    connector: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    channel: Annotated[str, Field(min_length=1, max_length=40)] | None = None
    author_id: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    handle: Annotated[str, Field(min_length=1, max_length=200)] | None = None

    @model_validator(mode="after")
    def _one_author(self) -> DataSubjectIn:
        if (self.connector is None) == (self.channel is None):
            raise ValueError("name exactly one of connector and channel")
        if self.author_id is None and (self.handle is None or not self.handle.strip().lstrip("@")):
            raise ValueError("name the author by author_id or handle")
        return self

    def ref(self) -> AuthorRef:
        return AuthorRef(connector=self.connector, channel=self.channel, author_id=self.author_id,
                         handle=self.handle)


class ErasureOut(BaseModel):
    """What was erased or blanked, counted per kind (0 when none was found: an erasure repeated
    answers all zeros). Holds no personal data."""

    model_config = ConfigDict(json_schema_extra={"description": " ".join(f"`{k}`" for k in ERASURE_KINDS)})

    scope: str = Field(description="`connector:NAME` or `channel:NAME`, as asked")
    erased_at: datetime
    counts: dict[str, int] = Field(description="mentions: their mentions blanked; cases: cases they opened, "
                                   "anonymised; cases_touched: cases holding their data (each gets a "
                                   "`privacy_erased` timeline entry); timeline_entries, department_events "
                                   "(and so webhook deliveries), replies, feedback_comments, delivery_responses: "
                                   "copies blanked; "
                                   "dead_letters: erased whole; idempotent_responses: stored answers deleted; "
                                   "models_retrained: the suggested-department model retrained without them")


@router.post("/erasure", response_model=ErasureOut, dependencies=[require_role("ops")], responses=RESPONSES,
             summary="Erase everything stored about one author")
def post_erasure(body: DataSubjectIn, session: DbSession, principal: Caller,
                 idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None) -> Any:
    """Ops. Blank the author's mentions (text, author fields, raw payloads) and every copy of them
    (timeline entries, department event bodies and so webhook deliveries, replies, dead letters,
    stored idempotent answers), anonymise the cases they opened, and retrain the suggested-department
    model without them. Counts, departments, channels, statuses, timers and timestamps stay, so
    reports still add up. Recorded without the personal data; repeating it changes nothing."""
    now = utc_now()

    def act() -> ErasureOut:
        counts = erase_author(session, body.ref(), principal=principal, now=now)
        return ErasureOut(scope=body.ref().scope, erased_at=now, counts=counts)

    return run_idempotent(session, key=idempotency_key, principal=principal, now=now, act=act,
                          fingerprint=request_fingerprint("POST", "/api/v1/privacy/erasure",
                                                          body.model_dump(mode="json")))


class ExportOut(BaseModel):
    """Everything stored about the author, as JSON."""

    author: dict[str, Any]
    exported_at: datetime
    mentions: list[dict[str, Any]] = Field(description="their mentions as the case JSON shows them, with `raw` "
                                           "(the platform payload, `{}` once past its retention) and `case`")
    cases: list[dict[str, Any]] = Field(description="the cases they opened (case JSON with their mentions and "
                                        "the timeline)")
    replies: list[dict[str, Any]] = Field(description="replies sent to them or on their cases")
    feedback: list[dict[str, Any]] = Field(description="their survey answers on the cases they opened")
    department_events: list[dict[str, Any]] = Field(description="event bodies sent to departments about their "
                                                    "cases")
    dead_letters: list[dict[str, Any]] = Field(description="unparsed platform bodies that hold their id or handle")


@router.post("/export", response_model=ExportOut, dependencies=[require_role("ops")], responses=RESPONSES,
             summary="Export everything stored about one author")
def post_export(body: DataSubjectIn, session: DbSession, principal: Caller) -> dict[str, Any]:
    """Ops. Changes nothing (a POST because the body names a person, which a URL would leave in
    logs); who exported, when and how much is audited as `privacy.export`, without the person."""
    now = utc_now()
    exported = export_author(session, body.ref(), now=now)
    record(session, principal, "privacy.export", body.ref().scope,
           {kind: len(value) for kind, value in exported.items() if isinstance(value, list)}, now)
    return exported
