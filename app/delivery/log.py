"""The delivery log for ops: listing deliveries with their attempts, redelivery, subscription state.

Service functions: they take the session first, may flush, never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit import record
from app.audit.service import ActorLike
from app.db import newest_first_page
from app.delivery.claims import OPEN_STATUSES
from app.delivery.models import Delivery, DeliveryAttempt, Subscription
from app.kernel.refs import format_ref
from app.rules import RuleSet

REDELIVERABLE = ("delivered", "dead")


class RedeliveryRefused(ValueError):
    """The delivery cannot be queued again now; the message says why."""


@dataclass(frozen=True)
class DeliveryFilter:
    """Filters of `GET /api/v1/deliveries`: values within one filter are OR-ed, filters AND-ed.
    `before_id` is the keyset position (the list is newest first: only ids below it)."""

    department: Sequence[str] = ()
    status: Sequence[str] = ()
    case_id: Sequence[int] = ()
    type: Sequence[str] = ()
    before_id: int | None = None
    limit: int = 50


@dataclass(frozen=True)
class SubscriptionState:
    """A department's webhook as configured now, its enabled state, and its open/dead counts."""

    department: str
    name: str
    url: str
    events: tuple[str, ...] | None
    enabled: bool
    disabled_reason: str | None
    disabled_at: datetime | None
    pending: int
    dead: int


def list_deliveries(session: Session, filters: DeliveryFilter
                    ) -> tuple[list[Delivery], dict[int, list[DeliveryAttempt]], int | None]:
    """One page of deliveries, newest first, each with its attempts (oldest first), and the id to
    continue below (None on the last page)."""
    query = select(Delivery)
    if filters.department:
        query = query.where(Delivery.department.in_(filters.department))
    if filters.status:
        query = query.where(Delivery.status.in_(filters.status))
    if filters.case_id:
        query = query.where(Delivery.case_id.in_(filters.case_id))
    if filters.type:
        query = query.where(Delivery.event_type.in_(filters.type))
    rows, next_before = newest_first_page(session, query, Delivery.id, before_id=filters.before_id,
                                          limit=filters.limit)
    return rows, attempts_of(session, [row.id for row in rows]), next_before


def attempts_of(session: Session, delivery_ids: Sequence[int]) -> dict[int, list[DeliveryAttempt]]:
    """The attempts of each delivery, oldest first (an empty list for one without attempts)."""
    attempts: dict[int, list[DeliveryAttempt]] = {delivery_id: [] for delivery_id in delivery_ids}
    if attempts:
        for attempt in session.scalars(select(DeliveryAttempt).where(DeliveryAttempt.delivery_id.in_(attempts))
                                       .order_by(DeliveryAttempt.id)):
            attempts[attempt.delivery_id].append(attempt)
    return attempts


def redeliver(session: Session, delivery: Delivery, *, ruleset: RuleSet, now: datetime,
              actor: ActorLike) -> Delivery:
    """Queue a delivered or dead delivery again, due now, with a fresh retry budget.

    Guarantees: its attempt history is kept (`attempts` restarts at 0, the attempt rows stay); it
    is sent with the same `webhook-id` (it is the same event); it waits for any earlier open
    delivery of the same case to the same department, like every delivery; a disabled
    subscription holds it until ops re-enable it. Raises RedeliveryRefused while it is still
    pending or being delivered, or when its department has no webhook now. Audited as
    `delivery.redelivered` (with the status it had).
    """
    if delivery.status not in REDELIVERABLE:
        raise RedeliveryRefused(f"delivery {delivery.id} is {delivery.status}; only delivered or dead "
                                "deliveries can be sent again")
    config = ruleset.departments.get(delivery.department)
    if config is None or config.webhook is None:
        raise RedeliveryRefused(f"department {delivery.department} has no webhook in rule set {ruleset.version}")
    status_before, delivery.status = delivery.status, "pending"
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.lease_owner = None
    delivery.lease_until = None
    delivery.delivered_at = None
    delivery.last_error = None
    delivery.last_status_code = None
    delivery.updated_at = now
    session.flush()
    record(session, actor, "delivery.redelivered", f"delivery:{delivery.id}",
           {"department": delivery.department, "case": format_ref(delivery.case_id),
            "event_type": delivery.event_type, "status_before": status_before}, now)
    return delivery


def subscription_states(session: Session, ruleset: RuleSet) -> list[SubscriptionState]:
    """Every department of `ruleset` with a webhook, in rule-file order."""
    stored = {row.department: row for row in session.scalars(select(Subscription))}
    counts: dict[tuple[str, str], int] = {}
    for department, status, count in session.execute(
            select(Delivery.department, Delivery.status, func.count())
            .where(Delivery.status.in_((*OPEN_STATUSES, "dead")))
            .group_by(Delivery.department, Delivery.status)):
        counts[(department, status)] = count
    states = []
    for department, config in ruleset.departments.items():
        if config.webhook is None:
            continue
        row = stored.get(department)
        states.append(SubscriptionState(
            department=department, name=config.name, url=config.webhook.url, events=config.webhook.events,
            enabled=row.enabled if row is not None else True,
            disabled_reason=row.disabled_reason if row is not None else None,
            disabled_at=row.disabled_at if row is not None else None,
            pending=sum(counts.get((department, s), 0) for s in OPEN_STATUSES),
            dead=counts.get((department, "dead"), 0)))
    return states


def enable_subscription(session: Session, department: str, *, now: datetime, actor: ActorLike) -> None:
    """Enable the department's subscription (a no-op when it is enabled, and then not audited);
    its held deliveries resume in order at the dispatcher's next claim. Audited as
    `subscription.enabled` with why it had been disabled."""
    row = session.get(Subscription, department, with_for_update=True)
    if row is None or row.enabled:
        return
    reason = row.disabled_reason
    row.enabled, row.disabled_reason, row.disabled_at, row.updated_at = True, None, None, now
    session.flush()
    record(session, actor, "subscription.enabled", f"department:{department}", {"disabled_reason": reason}, now)

