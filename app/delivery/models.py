"""The department event feed (the outbox), webhook deliveries, their attempts and subscription state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, JSONValue
from app.kernel.ids import ID

DELIVERY_STATUSES = ("pending", "delivering", "delivered", "dead")
_OPEN = "status IN ('pending', 'delivering')"


class DepartmentEvent(Base):
    """One event addressed to one department, written in the same transaction as the change.

    `id` orders a department's feed (`GET /api/v1/events`); `body` is exactly the webhook body
    (`{"type", "timestamp", "data": {"case": ...}}`).
    """

    __tablename__ = "department_events"
    __table_args__ = (Index("ix_department_events_feed", "department", "id"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    department: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    type: Mapped[str] = mapped_column(String(40))
    body: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    created_at: Mapped[datetime]


class Delivery(Base):
    """The webhook delivery of one department event to the department's subscription.

    `status`: pending (waiting for its turn or a retry at `next_attempt_at`), delivering (leased by a
    dispatcher until `lease_until`), delivered, dead (no attempts left, or the subscription is gone).
    Per case and department, a delivery is sent only after every earlier one is delivered or dead.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        Index("ix_deliveries_order", "department", "case_id", "id"),
        # The dispatcher's claim walks only the open rows (migration 0002).
        Index("ix_deliveries_open", "department", "id", postgresql_where=text(_OPEN), sqlite_where=text(_OPEN)),
        # ... and finds each case's oldest open delivery, its head, by case (migration 0008).
        Index("ix_deliveries_open_case", "department", "case_id", "id", postgresql_where=text(_OPEN),
              sqlite_where=text(_OPEN)),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("department_events.id"), index=True)
    department: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    event_type: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    lease_until: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]

    event: Mapped[DepartmentEvent] = relationship(lazy="joined")


class DeliveryAttempt(Base):
    """One HTTP attempt: status code (None when no answer), latency, a truncated response body."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime]
    status_code: Mapped[int | None]
    latency_ms: Mapped[int]
    error: Mapped[str | None] = mapped_column(Text)
    response_body: Mapped[str | None] = mapped_column(Text)


class Subscription(Base):
    """Whether a department's webhook subscription is enabled. Lives in the database, so it survives
    rule reloads; a `410 Gone` disables it, ops re-enable it."""

    __tablename__ = "subscriptions"

    department: Mapped[str] = mapped_column(String(64), primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    disabled_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
