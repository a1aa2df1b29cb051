"""The delivery log for ops: deliveries and their attempts, redelivery, subscriptions, and the
`ping` that tests a department's endpoint.

Leads may read deliveries; everything else here is for ops.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlalchemy import select

from app.auth.service import Principal
from app.db import transaction
from app.delivery.dispatcher import webhook_id
from app.delivery.log import (
    DeliveryFilter,
    RedeliveryRefused,
    SubscriptionState,
    attempts_of,
    enable_subscription,
    list_deliveries,
    redeliver,
    subscription_states,
)
from app.delivery.models import DELIVERY_STATUSES, Delivery, DeliveryAttempt
from app.delivery.ping import NoWebhook, audit_ping, send_ping
from app.kernel.clock import utc_now
from app.kernel.refs import format_ref, parse_ref
from app.web.cursors import decode_cursor, encode_cursor
from app.web.deps import ActiveRuleSet, Caller, DbSession, RowId, any_principal, require_role
from app.web.idempotency import request_fingerprint, run_idempotent, stored_answer
from app.web.problems import Conflict, Forbidden, InvalidInput, NotFound

router = APIRouter(prefix="/api/v1", tags=["deliveries"])

IdempotencyKeyHeader = Annotated[str | None, Header(alias="Idempotency-Key",
                                                    description="repeat a request safely (kept 24 h)")]


class DeliveryAttemptOut(BaseModel):
    """One HTTP attempt. `status_code` is null when no answer came (see `error`)."""

    id: int
    started_at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None
    response_body: str | None = Field(description="the first KB of the answer")


class DeliveryOut(BaseModel):
    """One event's delivery to one department's webhook. Dead letters have `status` dead."""

    id: int
    event_id: int
    webhook_id: str = Field(description="the `webhook-id` header: the same on every attempt and redelivery")
    department: str
    case: str = Field(examples=["WC-000123"])
    type: str
    status: str = Field(description="pending | delivering | delivered | dead")
    attempt_count: int = Field(description="attempts since it was (re)queued; `attempts` lists them all")
    next_attempt_at: datetime | None = Field(description="when a pending delivery is due")
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None
    attempts: list[DeliveryAttemptOut]


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None


class SubscriptionOut(BaseModel):
    """A department's webhook as the active rule set configures it, and its state in the database."""

    department: str
    name: str
    url: str
    events: list[str] | None = Field(description="the event types it receives; null means every type")
    enabled: bool
    disabled_reason: str | None
    disabled_at: datetime | None
    pending: int = Field(description="deliveries waiting or in flight")
    dead: int = Field(description="dead letters")


class SubscriptionPage(BaseModel):
    items: list[SubscriptionOut]
    next_cursor: str | None = None


def delivery_out(row: Delivery, attempts: list[DeliveryAttempt]) -> DeliveryOut:
    return DeliveryOut(
        id=row.id, event_id=row.event_id, webhook_id=webhook_id(row.event_id), department=row.department,
        case=format_ref(row.case_id), type=row.event_type, status=row.status, attempt_count=row.attempts,
        next_attempt_at=row.next_attempt_at if row.status == "pending" else None,
        last_status_code=row.last_status_code, last_error=row.last_error, created_at=row.created_at,
        updated_at=row.updated_at, delivered_at=row.delivered_at,
        attempts=[DeliveryAttemptOut(id=a.id, started_at=a.started_at, status_code=a.status_code,
                                     latency_ms=a.latency_ms, error=a.error, response_body=a.response_body)
                  for a in attempts])


def subscription_out(state: SubscriptionState) -> SubscriptionOut:
    return SubscriptionOut(department=state.department, name=state.name, url=state.url,
                           events=list(state.events) if state.events is not None else None, enabled=state.enabled,
                           disabled_reason=state.disabled_reason, disabled_at=state.disabled_at,
                           pending=state.pending, dead=state.dead)


@router.get("/deliveries", response_model=DeliveryPage, summary="Outbound deliveries with their attempts",
            dependencies=[require_role("lead")])
def get_deliveries(
    session: DbSession,
    department: Annotated[list[str] | None, Query()] = None,
    status: Annotated[list[str] | None, Query(description="pending | delivering | delivered | dead")] = None,
    case: Annotated[list[str] | None, Query(description="case ref, e.g. WC-000123")] = None,
    type: Annotated[list[str] | None, Query(description="event type, e.g. case.handed_off")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> DeliveryPage:
    """Newest first (leads and ops). Repeat a filter for several values; `status=dead` lists the
    dead letters. Each delivery carries every attempt, oldest first."""
    errors = [{"field": "status", "message": f"unknown status {s}; one of {', '.join(DELIVERY_STATUSES)}"}
              for s in status or () if s not in DELIVERY_STATUSES]
    case_ids = []
    for ref in case or ():
        case_id = parse_ref(ref)
        if case_id is None:
            errors.append({"field": "case", "message": f"{ref} is not a case ref (WC- and six or more digits)"})
        else:
            case_ids.append(case_id)
    if errors:
        raise InvalidInput(errors)
    filters = DeliveryFilter(department=department or (), status=status or (), case_id=case_ids, type=type or (),
                             limit=limit,
                             before_id=decode_cursor("d", cursor) if cursor else None)
    rows, attempts, next_before = list_deliveries(session, filters)
    return DeliveryPage(items=[delivery_out(row, attempts[row.id]) for row in rows],
                        next_cursor=encode_cursor("d", next_before) if next_before is not None else None)


@router.post("/deliveries/{delivery_id}/redeliver", response_model=DeliveryOut,
             summary="Queue a delivered or dead delivery again", dependencies=[require_role("ops")],
             responses={404: {"description": "No such delivery"},
                        409: {"description": "Still pending or in flight, or its department has no webhook now"}})
def post_redeliver(delivery_id: RowId, request: Request, session: DbSession, principal: Caller,
                   ruleset: ActiveRuleSet, idempotency_key: IdempotencyKeyHeader = None) -> Any:
    """Ops. The delivery becomes pending and due now with a fresh retry budget; its attempt history
    is kept, and it is sent with the same `webhook-id` (a receiver that deduplicates on it will
    see a duplicate). It still waits for earlier open deliveries of its case to the same
    department, and for a disabled subscription to be re-enabled."""
    # Locked so a dispatcher's claim (SKIP LOCKED) cannot take it halfway through.
    delivery = session.scalar(select(Delivery).where(Delivery.id == delivery_id).with_for_update(of=Delivery))
    if delivery is None:
        raise NotFound(f"no delivery {delivery_id}")
    now = utc_now()

    def act() -> DeliveryOut:
        try:
            redeliver(session, delivery, ruleset=ruleset, now=now, actor=principal)
        except RedeliveryRefused as exc:
            raise Conflict(str(exc)) from exc
        return delivery_out(delivery, attempts_of(session, [delivery.id])[delivery.id])

    return run_idempotent(session, key=idempotency_key, principal=principal, now=now, act=act,
                          fingerprint=request_fingerprint("POST", request.url.path, {}))


@router.get("/subscriptions", response_model=SubscriptionPage, summary="The departments' webhook subscriptions",
            dependencies=[require_role("ops")])
def get_subscriptions(session: DbSession, ruleset: ActiveRuleSet) -> SubscriptionPage:
    """Ops. Every department of the active rule set that has a webhook: its URL and event types,
    whether it is enabled (a `410 Gone` disables it), and its pending and dead counts."""
    return SubscriptionPage(items=[subscription_out(s) for s in subscription_states(session, ruleset)])


@router.post("/subscriptions/{department}/enable", response_model=SubscriptionOut,
             summary="Re-enable a disabled subscription", dependencies=[require_role("ops")],
             responses={404: {"description": "The department has no webhook in the active rule set"}})
def post_enable_subscription(department: str, request: Request, session: DbSession, principal: Caller,
                             ruleset: ActiveRuleSet, idempotency_key: IdempotencyKeyHeader = None) -> Any:
    """Ops. Enabling an enabled subscription changes nothing. Its held deliveries resume, in order."""
    config = ruleset.departments.get(department)
    if config is None or config.webhook is None:
        raise NotFound(f"department {department} has no webhook in rule set {ruleset.version}")
    now = utc_now()

    def act() -> SubscriptionOut:
        enable_subscription(session, department, now=now, actor=principal)
        state = next(s for s in subscription_states(session, ruleset) if s.department == department)
        return subscription_out(state)

    return run_idempotent(session, key=idempotency_key, principal=principal, now=now, act=act,
                          fingerprint=request_fingerprint("POST", request.url.path, {}))


class PingOut(BaseModel):
    """How the department's endpoint answered one signed `ping` event."""

    department: str
    url: str = Field(description="the endpoint, without user info, query or fragment")
    webhook_id: str = Field(description="the ping's `webhook-id` (`ping_...`)")
    ok: bool = Field(description="the endpoint answered 2xx")
    status_code: int | None = Field(description="null when no answer came (see `error`)")
    latency_ms: int
    error: str | None = Field(description="why it failed: `HTTP 500`, a timeout, a connection error, a missing "
                                          "secret")
    response_body: str | None = Field(description="the first KB of the answer")


@router.post("/departments/{department}/ping", response_model=PingOut,
             summary="Send a signed ping event to a department's webhook and report the answer",
             responses={403: {"description": "Only ops may ping"},
                        404: {"description": "The department has no webhook in the active rule set"}})
async def post_ping(department: str, request: Request, ruleset: ActiveRuleSet,
                    idempotency_key: IdempotencyKeyHeader = None) -> Any:
    """Ops. One attempt, now, whatever the subscription's state and its `events` list; not stored
    as an event and not retried. Answers 200 with the outcome whether or not the endpoint
    accepted it (`ok`, `status_code`, `latency_ms`, `error`); audited as `department.pinged`.

    No transaction is open while the endpoint answers (up to 10 s; on SQLite every transaction
    holds the database's write lock): the caller is checked in one short transaction, the outcome
    recorded in another. So an `Idempotency-Key` already answered replays its answer without
    pinging, and two requests with one new key at the same moment both ping (harmless: a ping
    changes nothing) while one of them answers 409 as usual."""
    sessions = request.app.state.sessions
    now = utc_now()
    fingerprint = request_fingerprint("POST", request.url.path, {})

    def authorise() -> tuple[Principal, Any]:
        with transaction(sessions) as session:
            principal = any_principal(request, session)  # what `require_role("ops")` admits, in this transaction
            if not principal.has_role("ops"):
                raise Forbidden("requires role ops")
            return principal, stored_answer(session, key=idempotency_key, principal=principal,
                                            fingerprint=fingerprint, now=now)

    principal, replayed = await run_in_threadpool(authorise)
    if replayed is not None:
        return replayed
    try:
        result = await run_in_threadpool(send_ping, ruleset, request.app.state.secrets, department, now=now)
    except NoWebhook as exc:
        raise NotFound(str(exc)) from exc

    def record_outcome() -> Any:
        with transaction(sessions) as session:
            def act() -> PingOut:
                audit_ping(session, principal, result, now)
                return PingOut(**result.to_json())

            return run_idempotent(session, key=idempotency_key, principal=principal, now=now, act=act,
                                  fingerprint=fingerprint)

    return await run_in_threadpool(record_outcome)
