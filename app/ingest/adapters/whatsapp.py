"""WhatsApp Cloud API webhooks (`object: whatsapp_business_account`). Pure: bytes in, events out.

Guarantees: every `entry[]`, `changes[]`, `messages[]` and `statuses[]` item yields one item or
one failure. Messages are private; the chat is keyed by the business number and the customer's
number. `statuses` (sent/delivered/read receipts), reactions and system notices are ignored. A
click-to-WhatsApp ad `referral` and a reply `context` are kept with the mention.
"""

from __future__ import annotations

from typing import Any

from app.ingest.adapters.common import (
    AdapterError,
    IgnoredItem,
    Item,
    Parsed,
    as_dict,
    as_list,
    child,
    from_unix,
    items,
    load_json,
    optional_id,
    optional_str,
    string,
    text_id,
)
from app.ingest.adapters.meta import envelopes
from app.ingest.standard import ParsedItem
from app.mentions.model import Attachment, Author, Mention

_MEDIA = {"image": "image", "video": "video", "audio": "audio", "voice": "audio", "document": "document",
          "sticker": "image"}
_NOT_MESSAGES = ("reaction", "system", "ephemeral", "request_welcome")


def parse_whatsapp(body: bytes) -> Parsed:
    """The events of one WhatsApp delivery. Raises AdapterError when the body as a whole is not a
    Graph webhook; a broken single message becomes a failure."""
    parsed = Parsed()
    for n, envelope in enumerate(envelopes(load_json(body))):
        for i, entry in enumerate(as_list(envelope.get("entry"), f"[{n}].entry")):
            where = f"[{n}].entry[{i}]"
            entry = as_dict(entry, where)
            for j, change in enumerate(as_list(entry.get("changes", []), f"{where}.changes")):
                _change(parsed, f"{where}.changes[{j}]", as_dict(change, f"{where}.changes[{j}]"),
                        optional_id(entry.get("id")))
    return parsed


def _change(parsed: Parsed, where: str, change: dict[str, Any], waba: str | None) -> None:
    value = change.get("value")
    if change.get("field") != "messages" or not isinstance(value, dict):
        parsed.ignore(f"whatsapp/{change.get('field')}: not a customer message", change)
        return
    metadata = child(value, "metadata")
    number = optional_id(metadata.get("phone_number_id"))
    names = {optional_id(c.get("wa_id")): child(c, "profile").get("name")
             for c in items(value, "contacts") if isinstance(c, dict)}
    try:
        messages = as_list(value.get("messages", []), "messages")
        statuses = as_list(value.get("statuses", []), "statuses")
    except AdapterError as exc:
        parsed.failures.append(f"{where}.value: {exc}")
        return
    for k, message in enumerate(messages):
        raw = {"field": "messages", "waba_id": waba, "metadata": metadata, "message": message}
        try:
            parsed.items.append(_message(as_dict(message, "message"), number, names, raw))
        except AdapterError as exc:
            parsed.failures.append(f"{where}.value.messages[{k}]: {exc}")
    for status in statuses:
        parsed.ignore("a delivery status, not a customer message", status)


def _message(message: dict[str, Any], number: str | None, names: dict[str | None, Any],
             raw: dict[str, Any]) -> Item:
    kind = str(message.get("type") or "text")
    if kind in _NOT_MESSAGES:
        return IgnoredItem(f"whatsapp {kind}: not a customer message", raw)
    sender = text_id(message.get("from"), "from")
    external_id = text_id(message.get("id"), "id")
    text, attachments = _content(kind, message)
    context = child(message, "context")
    extra: dict[str, Any] = {"account_id": number, "type": kind}
    if isinstance(message.get("referral"), dict):
        extra["referral"] = message["referral"]
    if context.get("forwarded") or context.get("frequently_forwarded"):
        extra["forwarded"] = True
    if kind == "unsupported":
        extra["errors"] = message.get("errors")
    name = names.get(sender)
    mention = Mention(
        external_id=external_id, channel="whatsapp", text=text,
        author=Author(id=sender, handle=f"+{sender}" if sender.isdigit() else None,
                      name=name if isinstance(name, str) else None),
        is_private=True, conversation_id=f"{number}:{sender}", in_reply_to=optional_id(context.get("id")),
        attachments=attachments, posted_at=from_unix(message.get("timestamp")), extra=extra,
    )
    return ParsedItem(mention, raw)


def _content(kind: str, message: dict[str, Any]) -> tuple[str, tuple[Attachment, ...]]:
    """The text (a caption counts as text) and the attachments of one message."""
    part = child(message, kind)
    if kind == "text":
        body = part.get("body")
        if not isinstance(body, str):
            raise AdapterError("text.body: missing")
        return body, ()
    if kind in _MEDIA:
        media_id = optional_id(part.get("id"))
        return str(part.get("caption") or ""), (Attachment(_MEDIA[kind], url=optional_str(part, "url"), id=media_id),)
    if kind == "location":
        point = f"{part.get('latitude')},{part.get('longitude')}"
        label = " ".join(s for s in (optional_str(part, "name"), optional_str(part, "address")) if s)
        return label, (Attachment("location", url=optional_str(part, "url"), id=point),)
    if kind == "button":
        return str(part.get("text") or ""), ()
    if kind == "interactive":
        reply = part.get("button_reply") or part.get("list_reply") or {}
        return str(reply.get("title") or "") if isinstance(reply, dict) else "", ()
    if kind == "contacts":
        people = items(message, "contacts")
        names = [string(child(c, "name"), "formatted_name") for c in people if isinstance(c, dict)]
        return ", ".join(n for n in names if n), tuple(Attachment("contact") for _ in people)
    return str(part.get("body") or ""), ()
