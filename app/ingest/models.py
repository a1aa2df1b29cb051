"""Ingest's own tables: inbound dead letters and enrichment jobs (stored mentions are
`app.mentions.stored`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, JSONValue
from app.kernel.ids import ID


class InboundDeadLetter(Base):
    """An authentic platform body (its signature checked) that the adapter could not fully parse.

    `body` is kept byte for byte, so a replay after a fix sees exactly what the platform sent;
    `error` names every part that failed. `status` is `pending` until a replay parses it all
    (`replayed`); events of the body that did parse were ingested on receipt and are duplicates
    on replay.
    """

    __tablename__ = "inbound_dead_letters"
    __table_args__ = (Index("ix_inbound_dead_letters_status", "status", "id"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    connector: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    content_type: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str] = mapped_column(Text)
    events_failed: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))
    replays: Mapped[int] = mapped_column(default=0)
    received_at: Mapped[datetime]
    replayed_at: Mapped[datetime | None]
    last_result: Mapped[dict[str, Any] | None] = mapped_column(JSONValue)


class MentionEnrichment(Base):
    """A job to complete a stored mention from the platform's API after the commit (Instagram
    `mentions` arrive as ids only). Claimed by workers with a lease (`lease_owner`/`lease_until`);
    `status` is `pending` (retried at `next_attempt_at`), `done` or `failed` (gave up)."""

    __tablename__ = "mention_enrichments"
    __table_args__ = (Index("ix_mention_enrichments_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"), unique=True)
    connector: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
