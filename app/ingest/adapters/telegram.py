"""Telegram Bot API `Update`s. Pure: bytes in, events out.

Guarantees: a message is keyed by chat id and message id (`update_id` only orders updates), so an
`edited_message` updates the mention it edits. Bot commands (`/start`), messages from bots,
channel posts (a channel's own, not a customer's), service messages and every other update type
are ignored. Forwarded messages are accepted in both forms (`forward_origin` since Bot API 7.0,
`forward_from` / `forward_date` before).
"""

from __future__ import annotations

import re
from typing import Any

from app.ingest.adapters.common import (
    AdapterError,
    EditedItem,
    IgnoredItem,
    Item,
    Parsed,
    as_dict,
    child,
    from_unix,
    load_json,
    optional_id,
    optional_str,
    text_id,
)
from app.ingest.standard import ParsedItem
from app.mentions.model import Attachment, Author, Mention

BOT_COMMAND = re.compile(r"^/[A-Za-z0-9_]{1,64}(@[A-Za-z0-9_]{3,64})?(\s|$)")
_MEDIA = (("voice", "audio"), ("audio", "audio"), ("document", "document"), ("video", "video"),
          ("video_note", "video"), ("animation", "video"), ("sticker", "image"))


def parse_telegram(body: bytes) -> Parsed:
    """The events of one Update. Raises AdapterError when the body is not an Update."""
    update = as_dict(load_json(body), "body")
    text_id(update.get("update_id"), "update_id")
    parsed = Parsed()
    if "message" in update:
        parsed.items.append(_message(as_dict(update["message"], "message"), update, edited=False))
    elif "edited_message" in update:
        parsed.items.append(_message(as_dict(update["edited_message"], "edited_message"), update, edited=True))
    else:
        kind = next((k for k in update if k != "update_id"), "update")
        parsed.ignore(f"telegram {kind}: not a customer message", update)
    return parsed


def message_key(chat_id: str, message_id: str) -> str:
    """The external id of a Telegram message: chat id and message id."""
    return f"{chat_id}:{message_id}"


def _message(message: dict[str, Any], update: dict[str, Any], *, edited: bool) -> Item:
    chat = as_dict(message.get("chat"), "chat")
    chat_id = text_id(chat.get("id"), "chat.id")
    if chat.get("type") == "channel":
        return IgnoredItem("a channel's own post", update)
    sender = message.get("from") if isinstance(message.get("from"), dict) else None
    if sender is None:
        return IgnoredItem("a message without a sender (sent on behalf of a chat)", update)
    if sender.get("is_bot"):
        return IgnoredItem("a message from a bot", update)
    text = message.get("text") if isinstance(message.get("text"), str) else message.get("caption")
    text = text if isinstance(text, str) else ""
    if BOT_COMMAND.match(text):
        return IgnoredItem("a bot command", update)
    attachments = _attachments(message)
    if not text and not attachments:
        return IgnoredItem("a service message", update)
    external_id = message_key(chat_id, text_id(message.get("message_id"), "message_id"))
    reply = message.get("reply_to_message") if isinstance(message.get("reply_to_message"), dict) else None
    in_reply_to = None
    if reply is not None and optional_id(reply.get("message_id")):
        reply_chat = optional_id(child(reply, "chat").get("id")) or chat_id
        in_reply_to = message_key(reply_chat, str(reply["message_id"]))
    username = optional_str(sender, "username")
    name = " ".join(s for s in (optional_str(sender, "first_name"), optional_str(sender, "last_name")) if s)
    extra: dict[str, Any] = {"account_id": None, "chat_id": chat_id, "chat_type": chat.get("type")}
    forwarded = message.get("forward_origin") or message.get("forward_from") or message.get("forward_from_chat")
    if forwarded is not None:
        extra["forwarded"] = {"origin": forwarded, "date": message.get("forward_date")}
    mention = Mention(
        external_id=external_id, channel="telegram", text=text,
        author=Author(id=text_id(sender.get("id"), "from.id"), handle=f"@{username}" if username else None,
                      name=name or None),
        url=f"https://t.me/{chat['username']}/{message['message_id']}"
        if chat.get("type") in ("group", "supergroup") and isinstance(chat.get("username"), str) else None,
        is_private=chat.get("type") == "private", conversation_id=chat_id, in_reply_to=in_reply_to,
        attachments=attachments, posted_at=from_unix(message.get("date")), extra=extra,
    )
    if edited:
        return EditedItem(mention, update, from_unix(message.get("edit_date")))
    return ParsedItem(mention, update)


def _attachments(message: dict[str, Any]) -> tuple[Attachment, ...]:
    out: list[Attachment] = []
    photo = message.get("photo")
    if isinstance(photo, list) and photo:
        largest = photo[-1] if isinstance(photo[-1], dict) else {}
        out.append(Attachment("image", id=optional_id(largest.get("file_id"))))
    for key, kind in _MEDIA:
        part = message.get(key)
        if isinstance(part, dict):
            out.append(Attachment(kind, id=optional_id(part.get("file_id"))))
    location = message.get("location")
    if isinstance(location, dict):
        out.append(Attachment("location", id=f"{location.get('latitude')},{location.get('longitude')}"))
    if isinstance(message.get("contact"), dict):
        out.append(Attachment("contact", id=optional_id(message["contact"].get("phone_number"))))
    return tuple(out)


__all__ = ["AdapterError", "message_key", "parse_telegram"]
