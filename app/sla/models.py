"""SLA timers: one row per timer segment of a case (SPEC §2 `sla` and `sla_history`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.kernel.ids import ID

TIMER_STATES = ("running", "paused", "warned", "met", "stopped", "breached")
# Why a timer ended without its goal (`state` "stopped", or "breached" when the deadline passed first):
# the case was handed on (handoff, reroute, reclassification), closed, merged into another case, or
# resolved while the department had not acknowledged it. `unknown`: stored before this was recorded
# and the timeline did not tell (migration 0014).
STOP_REASONS = ("handed_on", "closed", "merged", "resolved", "unknown")


class SlaTimer(Base):
    """One timer segment. Time is kept as open seconds on `calendar`: `budget_seconds` may be used;
    `elapsed_seconds` were used before `run_from` (None while paused or stopped), so priority,
    policy and calendar changes keep what was used. `next_fire_at` is the next pending warning,
    breach or escalation step (None when nothing is pending): the sweeper's index. An ended
    segment is `met` (its goal happened in time), `breached` (its deadline passed first) or
    `stopped` (it ended without its goal; `stop_reason` says why)."""

    __tablename__ = "sla_timers"
    __table_args__ = (
        Index("ix_sla_timers_next_fire", "next_fire_at", postgresql_where=text("next_fire_at IS NOT NULL"),
              sqlite_where=text("next_fire_at IS NOT NULL")),
        Index("ix_sla_timers_case", "case_id", "kind", "active"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))
    department: Mapped[str] = mapped_column(String(64))
    calendar: Mapped[str] = mapped_column(String(64))
    policy: Mapped[str] = mapped_column(String(64))
    priority: Mapped[str] = mapped_column(String(2))
    active: Mapped[bool] = mapped_column(default=True)
    state: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime]
    budget_seconds: Mapped[float] = mapped_column(Float)
    elapsed_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    run_from: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    warn_at: Mapped[datetime | None]
    warned_at: Mapped[datetime | None]
    breached_at: Mapped[datetime | None]
    stopped_at: Mapped[datetime | None]
    stop_reason: Mapped[str | None] = mapped_column(String(16))
    escalations_done: Mapped[int] = mapped_column(default=0)
    next_fire_at: Mapped[datetime | None]
