"""A mention as stored: the `mentions` table, and the one mapping between its rows and the pure
`Mention` (ingest writes rows from mentions; the rules read mentions back from rows)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, JSONValue
from app.kernel.ids import ID
from app.mentions.model import Attachment, Author, Mention


class StoredMention(Base):
    """A mention as received: unique per connector and external id, the raw payload kept.

    `received_at` starts the SLA clocks; `posted_at` is the platform's own time. `account` is our
    own account the customer wrote to (`Mention.account`). `decision` is the routing decision made
    for this mention (every mention is classified, also when it joins a case). `raw_purged_at` is
    set when `raw` was emptied (`app.privacy`: past its retention, removed or erased).
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
    raw_purged_at: Mapped[datetime | None]


def attachments_json(mention: Mention) -> list[dict[str, Any]]:
    """The mention's attachments as stored: each without its empty fields."""
    return [{k: v for k, v in (("type", a.type), ("url", a.url), ("id", a.id)) if v is not None}
            for a in mention.attachments]


def new_stored_mention(mention: Mention, raw: Any, *, connector: str, case_id: int, decision: dict[str, Any],
                       received_at: datetime) -> StoredMention:
    """The row that stores `mention` (with the raw JSON it came from) on case `case_id`."""
    author = mention.author
    return StoredMention(
        case_id=case_id, connector=connector, external_id=mention.external_id, channel=mention.channel,
        text=mention.text, url=mention.url, language=mention.language, is_private=mention.is_private,
        conversation_id=mention.conversation_id, in_reply_to=mention.in_reply_to,
        author_id=author.id, author_handle=author.handle, author_name=author.name,
        author_followers=author.followers, author_verified=author.verified,
        attachments=attachments_json(mention), extra=mention.extra, account=mention.account, raw=raw,
        decision=decision, received_at=received_at, posted_at=mention.posted_at,
    )


def as_mention(row: StoredMention) -> Mention:
    """The pure mention a stored row holds (what the rules evaluate); the inverse of
    `new_stored_mention` for every field a mention has."""
    return Mention(
        external_id=row.external_id, channel=row.channel, text=row.text, url=row.url, language=row.language,
        is_private=row.is_private, conversation_id=row.conversation_id, in_reply_to=row.in_reply_to,
        author=Author(id=row.author_id, handle=row.author_handle, name=row.author_name,
                      followers=row.author_followers, verified=row.author_verified),
        attachments=tuple(Attachment(str(a.get("type")), url=a.get("url"), id=a.get("id")) for a in row.attachments),
        posted_at=row.posted_at, extra=row.extra, account=row.account,
    )
