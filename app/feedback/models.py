"""The customer's answer to the satisfaction survey of a case."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class CaseFeedback(Base):
    """One answer per case (a second replaces the first; both stay in the timeline). `score` is the
    0-10 recommendation score (NPS), `csat` the optional 1-5 satisfaction score. `department`,
    `channel` and `agent` (the user who sent the case's last response, None when no one did) are
    taken when the answer is recorded, so reports credit whoever served the customer then.
    `source_type`/`source`: the integration or user that recorded it."""

    __tablename__ = "case_feedback"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    score: Mapped[int]
    csat: Mapped[int | None]
    comment: Mapped[str | None] = mapped_column(Text)
    department: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(40))
    agent: Mapped[str | None] = mapped_column(String(64))
    source_type: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(index=True)
