"""The normalised mention: what every platform adapter produces and what the rules evaluate.

Pure values only. Adapters build these from platform payloads; the rule engine reads them; ingest
stores them. Nothing here touches the clock, the database or the network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

CHANNELS = ("x", "facebook", "instagram", "messenger", "whatsapp", "telegram")
"""The platform channels. A `standard` connector may send any other channel value as well."""


@dataclass(frozen=True, slots=True)
class Author:
    """Who wrote a mention. Every field is optional: platforms give different subsets."""

    id: str | None = None
    handle: str | None = None
    name: str | None = None
    followers: int | None = None
    verified: bool | None = None


@dataclass(frozen=True, slots=True)
class Attachment:
    """An image, audio file, document or location sent with a mention: a URL, a platform id or both."""

    type: str
    url: str | None = None
    id: str | None = None


@dataclass(frozen=True, slots=True)
class Mention:
    """One customer message, normalised from whatever platform sent it.

    `external_id` is unique per connector. `posted_at` is the platform's own time (aware UTC) when
    it gave one; the time we received it is not part of the mention but of its storage.
    `conversation_id` and `in_reply_to` are the thread keys ingest uses to join cases.
    `extra` keeps platform details worth showing (a WhatsApp ad referral, say) as plain JSON.
    `account` is our own account the customer wrote to (a Facebook Page or Instagram account id,
    a WhatsApp phone number id, the X account, the Telegram bot), when known.
    """

    external_id: str
    channel: str
    text: str
    author: Author = field(default_factory=Author)
    url: str | None = None
    language: str | None = None
    is_private: bool = False
    conversation_id: str | None = None
    in_reply_to: str | None = None
    attachments: tuple[Attachment, ...] = ()
    posted_at: datetime | None = None
    extra: dict[str, Any] | None = None
    account: str | None = None
