"""Case JSON (SPEC §2) as pydantic response models."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from app.cases.models import Case, CaseEvent
from app.kernel.clock import utc_now
from app.kernel.refs import format_ref
from app.mentions.stored import StoredMention


class SlaTimer(Protocol):
    """What the case JSON shows of an SLA timer segment (`app.sla.models.SlaTimer` rows: the SLA
    engine keeps them; `cases` only shows them, so it does not import the engine)."""

    id: int
    kind: str
    department: str
    calendar: str
    state: str
    active: bool
    started_at: datetime
    due_at: datetime | None
    warn_at: datetime | None
    warned_at: datetime | None
    breached_at: datetime | None
    stopped_at: datetime | None
    stop_reason: str | None


class SpanOut(BaseModel):
    rule_id: str
    start: int
    end: int


class RoutingOut(BaseModel):
    ruleset_version: str
    rule_ids: list[str]
    deciding_rule: str | None
    spans: list[SpanOut]


class AuthorOut(BaseModel):
    id: str | None = None
    handle: str | None = None
    name: str | None = None
    followers: int | None = None
    verified: bool | None = None


STOP_REASON_TEXT = ("why an ended timer did not reach its goal: handed_on, closed, merged, resolved (by webcare, "
                    "not the department) or unknown (ended before this was recorded); null otherwise")


class TimerOut(BaseModel):
    """The current segment of one timer. `seconds_left` is wall-clock time until `due_at` (negative
    once breached); null while paused or ended. `state`: running, paused, warned or breached while
    it runs; met (its goal happened in time), breached or stopped (it ended without its goal,
    `stop_reason` says why) once it has ended."""

    due_at: datetime | None
    state: str
    stop_reason: str | None = Field(description=STOP_REASON_TEXT)
    seconds_left: int | None
    department: str | None
    started_at: datetime
    warn_at: datetime | None


class TimerSegmentOut(BaseModel):
    """One timer segment, closed ones included (`state` and `stop_reason` as in TimerOut)."""

    kind: str
    department: str
    calendar: str
    state: str
    stop_reason: str | None = Field(description=STOP_REASON_TEXT)
    started_at: datetime
    due_at: datetime | None
    warned_at: datetime | None
    breached_at: datetime | None
    stopped_at: datetime | None


class CaseOut(BaseModel):
    """A case as lists show it."""

    model_config = ConfigDict(json_schema_extra={"description": "A case (SPEC §2 Case JSON)"})

    ref: str = Field(examples=["WC-000123"])
    status: str
    department: str
    category: str
    priority: str
    sla_policy: str
    tags: list[str]
    assignee: str | None
    channel: str
    connector: str
    account: str | None = Field(description="our own account the opening mention reached (a Facebook Page, "
                                "Instagram account, WhatsApp phone number id, X account or Telegram bot id)")
    account_name: str | None = Field(description="that account's display name in connectors.yaml")
    author: AuthorOut
    created_at: datetime
    updated_at: datetime
    linked_case: str | None
    external_ref: str | None
    routing: RoutingOut
    sla: dict[str, TimerOut] = Field(description="the current timer of each kind (filled by the SLA engine)")


class MentionOut(BaseModel):
    id: int
    external_id: str
    connector: str
    channel: str
    text: str
    url: str | None
    language: str | None
    is_private: bool
    conversation_id: str | None
    in_reply_to: str | None
    account: str | None
    author: AuthorOut
    attachments: list[dict[str, Any]]
    received_at: datetime
    posted_at: datetime | None
    removed_at: datetime | None
    decision: dict[str, Any]


class TimelineEntryOut(BaseModel):
    id: int
    type: str
    at: datetime
    actor_type: str
    actor: str | None
    data: dict[str, Any]


class SuggestedDepartmentOut(BaseModel):
    """Where people sent earlier cases like this one that no rule decided: a suggestion only."""

    department: str
    confidence: float = Field(description="the model's probability, 0..1")
    examples: int = Field(description="earlier cases that ended with this department")
    trained_at: datetime = Field(description="when the model was trained")


SuggestDepartment = Callable[[Session, Case, str], SuggestedDepartmentOut | None]
"""Given the case and its first mention's text, the suggestion (the app wires the trained model)."""


class CaseDetailOut(CaseOut):
    """One case with its thread, timeline and SLA history."""

    suggested_department: SuggestedDepartmentOut | None = Field(
        default=None, description="for a case no rule decided that is still with webcare: where people sent "
        "earlier such cases, learned from the history; null when there is not enough history or confidence. "
        "It never routes by itself")
    mentions: list[MentionOut]
    timeline: list[TimelineEntryOut]
    sla_history: list[TimerSegmentOut]


class CaseListOut(BaseModel):
    items: list[CaseOut]
    next_cursor: str | None


def current_timers(timers: Sequence[SlaTimer], now: datetime) -> dict[str, TimerOut]:
    """The latest segment of each timer kind."""
    latest: dict[str, SlaTimer] = {}
    for timer in sorted(timers, key=lambda t: (t.started_at, t.id)):
        latest[timer.kind] = timer
    return {kind: TimerOut(due_at=t.due_at, state=t.state, stop_reason=t.stop_reason, department=t.department,
                           started_at=t.started_at,
                           warn_at=t.warn_at,
                           seconds_left=int((t.due_at - now).total_seconds()) if t.active and t.due_at else None)
            for kind, t in latest.items()}


def case_out(case: Case, timers: Sequence[SlaTimer] | None = None, now: datetime | None = None) -> CaseOut:
    return CaseOut(**_case_fields(case, timers or [], now))


def case_detail_out(case: Case, mentions: list[StoredMention], events: list[CaseEvent],
                    timers: Sequence[SlaTimer] | None = None, now: datetime | None = None, *,
                    suggest: SuggestDepartment | None = None, session: Session | None = None) -> CaseDetailOut:
    """The case JSON with its thread; with `suggest` (and the `session` it reads) also its suggested
    department."""
    timers = timers or []
    suggestion = suggest(session, case, mentions[0].text if mentions else "") \
        if suggest is not None and session is not None else None
    return CaseDetailOut(
        **_case_fields(case, timers, now), suggested_department=suggestion,
        mentions=[mention_out(m) for m in mentions],
        timeline=[TimelineEntryOut(id=e.id, type=e.type, at=e.at, actor_type=e.actor_type, actor=e.actor,
                                   data=e.data) for e in events],
        sla_history=[TimerSegmentOut(kind=t.kind, department=t.department, calendar=t.calendar, state=t.state,
                                     stop_reason=t.stop_reason,
                                     started_at=t.started_at, due_at=t.due_at, warned_at=t.warned_at,
                                     breached_at=t.breached_at, stopped_at=t.stopped_at)
                     for t in sorted(timers, key=lambda t: (t.started_at, t.id))],
    )


def mention_out(m: StoredMention) -> MentionOut:
    return MentionOut(
        id=m.id, external_id=m.external_id, connector=m.connector, channel=m.channel, text=m.text, url=m.url,
        language=m.language, is_private=m.is_private, conversation_id=m.conversation_id,
        in_reply_to=m.in_reply_to, account=m.account,
        author=AuthorOut(id=m.author_id, handle=m.author_handle, name=m.author_name,
                         followers=m.author_followers, verified=m.author_verified),
        attachments=m.attachments, received_at=m.received_at, posted_at=m.posted_at, removed_at=m.removed_at,
        decision=m.decision,
    )


def _case_fields(case: Case, timers: Sequence[SlaTimer], now: datetime | None) -> dict[str, Any]:
    return dict(
        ref=case.ref, status=case.status, department=case.department, category=case.category,
        priority=case.priority, sla_policy=case.sla_policy, tags=case.tags,
        assignee=case.assignee.username if case.assignee else None, channel=case.channel,
        connector=case.connector, account=case.account, account_name=case.account_name,
        author=AuthorOut(**case.author), created_at=case.created_at,
        updated_at=case.updated_at, linked_case=format_ref(case.linked_case_id) if case.linked_case_id else None,
        external_ref=case.external_ref, routing=RoutingOut(**case.routing),
        sla=current_timers(timers, now or utc_now()),
    )
