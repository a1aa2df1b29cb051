"""Platform replies: one row per `respond` with `send: true` on a platform connector."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, JSONValue
from app.kernel.ids import ID

REPLY_STATUSES = ("pending", "sending", "sent", "failed", "unconfirmed")


class PlatformReply(Base):
    """An answer to post through the platform, written in the action's transaction and sent after
    the commit by `ReplySender`.

    `status`: `pending` (due at `next_attempt_at`), `sending` (leased to `lease_owner` until
    `lease_until`), `sent` (`platform_reply_id` is the platform's id of the reply), `failed` (the
    platform refused it; `last_error` says why) or `unconfirmed` (an attempt's outcome is unknown and
    the platform offers no way to look the reply up: an agent checks before anything is posted
    again). `uncertain` is set once an attempt timed out: no later attempt posts before looking.
    `target` holds the ids the platform call needs (pure data, see `app.replies.targets`).
    """

    __tablename__ = "platform_replies"
    __table_args__ = (Index("ix_platform_replies_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    mention_id: Mapped[int | None] = mapped_column(ForeignKey("mentions.id", ondelete="SET NULL"))
    connector: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(40))
    method: Mapped[str] = mapped_column(String(40))
    target: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    uncertain: Mapped[bool] = mapped_column(default=False)
    next_attempt_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None]
    platform_reply_id: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
