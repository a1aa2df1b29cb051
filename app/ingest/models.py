"""Stored mentions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.auth.models import ID
from app.db import Base, JSONValue


class StoredMention(Base):
    """A mention as received: unique per connector and external id, the raw payload kept.

    `received_at` starts the SLA clocks; `posted_at` is the platform's own time. `decision` is the
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
    raw: Mapped[dict[str, Any] | list[Any]] = mapped_column(JSONValue)
    decision: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    received_at: Mapped[datetime] = mapped_column(index=True)
    posted_at: Mapped[datetime | None]
    removed_at: Mapped[datetime | None]
