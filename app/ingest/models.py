"""Stored mentions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, JSONValue
from app.kernel.ids import ID


class StoredMention(Base):
    """A mention as received: unique per connector and external id, the raw payload kept.

    `received_at` starts the SLA clocks; `posted_at` is the platform's own time. `account` is our
    own account the customer wrote to (`Mention.account`). `decision` is the
    routing decision made for this mention (every mention is classified, also when it joins a case).
    """

    __tablename__ = "mentions"
    __table_args__ = (
        UniqueConstraint("connector", "external_id"),
        Index("ix_mentions_thread", "connector", "conversation_id"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    connector: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    is_private: Mapped[bool]
    conversation_id: Mapped[str | None] = mapped_column(String(200))
    in_reply_to: Mapped[str | None] = mapped_column(String(200))
    author_id: Mapped[str | None] = mapped_column(String(200))
    author_handle: Mapped[str | None] = mapped_column(String(200))
    author_name: Mapped[str | None] = mapped_column(String(200))
    author_followers: Mapped[int | None]
    author_verified: Mapped[bool | None]
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSONValue, default=list)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSONValue)
    account: Mapped[str | None] = mapped_column(String(200))
    raw: Mapped[dict[str, Any] | list[Any]] = mapped_column(JSONValue)
    decision: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    received_at: Mapped[datetime] = mapped_column(index=True)
    posted_at: Mapped[datetime | None]
    removed_at: Mapped[datetime | None]
    edited_at: Mapped[datetime | None]


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
