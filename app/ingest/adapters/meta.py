"""Meta webhooks for the `meta` kind: Facebook Page `feed` and `ratings`, Instagram `comments` and
`mentions`, and Messenger / Instagram direct messages (`messaging[]`). Pure: bytes in, events out.

Guarantees: every `entry[]`, every `changes[]` and every `messaging[]` event of every envelope is
looked at, whether the body is one object (live deliveries) or an array of them (some doc
samples); each yields exactly one item or one failure. The account's own posts, comments and
outgoing messages (`from.id == entry.id`, `is_echo`) and receipts are ignored, not stored.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from app.ingest.adapters.common import (
    AdapterError,
    EditedItem,
    IgnoredItem,
    Item,
    Parsed,
    RemovedItem,
    as_dict,
    as_list,
    child,
    from_unix,
    load_json,
    optional_id,
    optional_str,
    string,
    text_id,
)
from app.ingest.standard import ParsedItem
from app.mentions.model import Attachment, Author, Mention

ENRICH_INSTAGRAM_MENTION = "instagram_mention"
_FEED_MESSAGES = ("post", "status", "photo", "video", "note")
_MESSENGER_ATTACHMENT_TYPES = {"image": "image", "audio": "audio", "video": "video", "file": "document",
                               "sticker": "image", "location": "location"}


def envelopes(document: Any) -> list[dict[str, Any]]:
    """The Graph webhook envelopes of a body: one object, or an array of them."""
    if isinstance(document, list):
        return [as_dict(e, f"[{i}]") for i, e in enumerate(document)]
    return [as_dict(document, "body")]


def parse_meta(body: bytes) -> Parsed:
    """The events of one `meta` delivery. Raises AdapterError when the body as a whole is not a
    Graph webhook (not JSON, no `entry` array); a broken single event becomes a failure."""
    parsed = Parsed()
    for n, envelope in enumerate(envelopes(load_json(body))):
        obj = envelope.get("object")
        for i, entry in enumerate(as_list(envelope.get("entry"), f"[{n}].entry")):
            where = f"[{n}].entry[{i}]"
            entry = as_dict(entry, where)
            account = optional_id(entry.get("id"))
            entry_time = from_unix(entry.get("time"))
            for j, change in enumerate(as_list(entry.get("changes", []), f"{where}.changes")):
                _collect(parsed, f"{where}.changes[{j}]", partial(_change, obj, change, account, entry_time))
            for j, event in enumerate(as_list(entry.get("messaging", []), f"{where}.messaging")):
                raw = {"messaging": event}
                _collect(parsed, f"{where}.messaging[{j}]", partial(_messaging, obj, event, account, raw))
            for _ in as_list(entry.get("standby", []), f"{where}.standby"):
                parsed.ignore("standby: another app owns the conversation")
    return parsed


def _collect(parsed: Parsed, where: str, make: Callable[[], Item]) -> None:
    try:
        parsed.items.append(make())
    except AdapterError as exc:
        parsed.failures.append(f"{where}: {exc}")


def _change(obj: Any, change: Any, account: str | None, entry_time: datetime | None) -> Item:
    change = as_dict(change, "change")
    field = change.get("field")
    value = change.get("value")
    raw = {"object": obj, "entry_id": account, "field": field, "value": value}
    if obj == "page" and field == "feed":
        return _feed(as_dict(value, "value"), account, raw)
    if obj == "page" and field == "ratings":
        return _rating(as_dict(value, "value"), account, raw)
    if obj == "instagram" and field in ("comments", "live_comments"):
        return _instagram_comment(as_dict(value, "value"), account, entry_time, raw)
    if obj == "instagram" and field == "mentions":
        return _instagram_mention(as_dict(value, "value"), account, entry_time, raw)
    if obj in ("page", "instagram") and field == "messages" and isinstance(value, dict) and "sender" in value:
        return _messaging(obj, value, account, raw)
    return _ignored(f"{obj}/{field}: not a customer message", raw)


def _ignored(reason: str, raw: Any) -> Item:
    return IgnoredItem(reason, raw)


def _feed(value: dict[str, Any], page: str | None, raw: dict[str, Any]) -> Item:
    item, verb = value.get("item"), value.get("verb")
    sender = child(value, "from")
    sender_id = optional_id(sender.get("id")) or optional_id(value.get("sender_id"))
    if sender_id is not None and sender_id == page:
        return _ignored(f"the Page's own {item}", raw)
    if item == "comment":
        external_id = text_id(value.get("comment_id"), "value.comment_id")
    elif item in _FEED_MESSAGES:
        external_id = text_id(value.get("post_id"), "value.post_id")
    else:
        return _ignored(f"feed {item}: not a customer message", raw)
    if verb in ("remove", "delete"):
        return RemovedItem(external_id, raw, from_unix(value.get("created_time")))
    if verb not in ("add", "edited", "edit", "update"):
        return _ignored(f"feed {item} {verb}: a moderation change", raw)
    post_id = optional_id(value.get("post_id"))
    text = string(value, "message")
    attachments = _feed_attachments(value, item)
    if not text and not attachments:
        return _ignored(f"feed {item} without text or media", raw)
    parent = optional_id(value.get("parent_id"))
    mention = Mention(
        external_id=external_id, channel="facebook", text=text,
        author=Author(id=sender_id, name=optional_str(sender, "name") or optional_str(value, "sender_name")),
        url=_facebook_url(post_id, external_id if item == "comment" else None),
        in_reply_to=(parent or post_id) if item == "comment" else None,
        attachments=attachments, posted_at=from_unix(value.get("created_time")),
        extra={"account_id": page, "item": item, **({"post_id": post_id} if post_id else {})},
    )
    if verb == "add":
        return ParsedItem(mention, raw)
    return EditedItem(mention, raw, from_unix(value.get("created_time")))


def _feed_attachments(value: dict[str, Any], item: Any) -> tuple[Attachment, ...]:
    out: list[Attachment] = []
    photos = value.get("photos")
    if isinstance(photos, list):
        out += [Attachment("image", url=p) for p in photos if isinstance(p, str)]
    link = optional_str(value, "link")
    if item == "photo" and link and not out:
        out.append(Attachment("image", url=link, id=optional_id(value.get("photo_id"))))
    if item == "video" and link:
        out.append(Attachment("video", url=link, id=optional_id(value.get("video_id"))))
    return tuple(out)


def _facebook_url(post_id: str | None, comment_id: str | None) -> str | None:
    if post_id is None or not post_id.replace("_", "").isdigit():
        return None
    if comment_id is None:
        return f"https://www.facebook.com/{post_id}"
    return f"https://www.facebook.com/{post_id}?comment_id={comment_id.rpartition('_')[2]}"


def _rating(value: dict[str, Any], page: str | None, raw: dict[str, Any]) -> Item:
    item, verb = value.get("item"), value.get("verb")
    story = optional_id(value.get("open_graph_story_id"))
    if item == "rating":
        external_id = text_id(story, "value.open_graph_story_id")
        if verb == "remove":
            return RemovedItem(external_id, raw, from_unix(value.get("created_time")))
        text = string(value, "review_text")
        mention = Mention(
            external_id=external_id, channel="facebook", text=text,
            author=Author(id=optional_id(value.get("reviewer_id")), name=optional_str(value, "reviewer_name")),
            posted_at=from_unix(value.get("created_time")),
            extra={"account_id": page, "item": "rating", "rating": value.get("rating"),
                   "recommendation_type": value.get("recommendation_type")},
        )
        return EditedItem(mention, raw) if verb == "edit" else ParsedItem(mention, raw)
    if item in ("comment", "reply"):
        sender = optional_id(value.get("sender_id"))
        if sender is not None and sender == page:
            return _ignored("the Page's own reply to a review", raw)
        external_id = text_id(value.get("comment_id"), "value.comment_id")
        if verb == "remove":
            return RemovedItem(external_id, raw, from_unix(value.get("created_time")))
        mention = Mention(
            external_id=external_id, channel="facebook", text=str(value.get("message") or ""),
            author=Author(id=sender, name=optional_str(value, "sender_name")), in_reply_to=story,
            posted_at=from_unix(value.get("created_time")), extra={"account_id": page, "item": "review_comment"},
        )
        return EditedItem(mention, raw) if verb == "edit" else ParsedItem(mention, raw)
    return _ignored(f"ratings {item}: not a customer message", raw)


def _instagram_comment(value: dict[str, Any], account: str | None, entry_time: datetime | None,
                       raw: dict[str, Any]) -> Item:
    sender = child(value, "from")
    sender_id = optional_id(sender.get("id"))
    if sender_id is not None and sender_id == account:
        return _ignored("the account's own comment", raw)
    external_id = text_id(value.get("id"), "value.id")
    media = child(value, "media")
    media_id = optional_id(media.get("id"))
    username = optional_str(sender, "username")
    mention = Mention(
        external_id=external_id, channel="instagram", text=str(value.get("text") or ""),
        author=Author(id=sender_id, handle=f"@{username}" if username else None),
        in_reply_to=optional_id(value.get("parent_id")) or media_id, posted_at=entry_time,
        extra={"account_id": account, "item": "comment", "media_id": media_id,
               "media_product_type": media.get("media_product_type")},
    )
    return ParsedItem(mention, raw)


def _instagram_mention(value: dict[str, Any], account: str | None, entry_time: datetime | None,
                       raw: dict[str, Any]) -> Item:
    """`mentions` carry ids only: the mention is stored with empty text and flagged for enrichment
    (the text is read from the Graph API after the commit)."""
    media_id = text_id(value.get("media_id"), "value.media_id")
    comment_id = optional_id(value.get("comment_id"))
    mention = Mention(
        external_id=comment_id or media_id, channel="instagram", text="",
        in_reply_to=media_id if comment_id else None, posted_at=entry_time,
        extra={"account_id": account, "item": "mention_comment" if comment_id else "mention_media",
               "media_id": media_id, "comment_id": comment_id,
               "enrichment": {"kind": ENRICH_INSTAGRAM_MENTION, "state": "pending"}},
    )
    return ParsedItem(mention, raw)


def _messaging(obj: Any, event: Any, account: str | None, raw: dict[str, Any]) -> Item:
    event = as_dict(event, "event")
    channel = "instagram" if obj == "instagram" else "messenger"
    sender = text_id(child(event, "sender").get("id"), "sender.id")
    if "message" in event:
        message = as_dict(event["message"], "message")
        if message.get("is_echo") or sender == account:
            return _ignored("the account's own outgoing message", raw)
        mid = text_id(message.get("mid"), "message.mid")
        if message.get("is_deleted"):
            return RemovedItem(mid, raw, from_unix(event.get("timestamp")))
        text = string(message, "text")
        attachments = _messaging_attachments(message.get("attachments"))
        if not text and not attachments:
            return _ignored(f"{channel} message without text or media", raw)
        reply_to = child(message, "reply_to")
        extra: dict[str, Any] = {"account_id": account}
        for key in ("quick_reply", "referral"):
            if isinstance(message.get(key), dict):
                extra[key] = message[key]
        return ParsedItem(_dm(channel, mid, text, sender, account, event, attachments,
                              optional_id(reply_to.get("mid")), extra), raw)
    if "message_edit" in event:
        edit = as_dict(event["message_edit"], "message_edit")
        if sender == account:
            return _ignored("the account's own edit", raw)
        mid = text_id(edit.get("mid"), "message_edit.mid")
        mention = _dm(channel, mid, str(edit.get("text") or ""), sender, account, event, (), None,
                      {"account_id": account})
        return EditedItem(mention, raw, from_unix(event.get("timestamp")))
    kinds = [k for k in ("delivery", "read", "reaction", "postback", "optin", "referral", "account_linking",
                         "policy_enforcement", "message_edit") if k in event]
    return _ignored(f"{channel} {kinds[0] if kinds else 'event'}: not a customer message", raw)


def _dm(channel: str, mid: str, text: str, sender: str, account: str | None, event: dict[str, Any],
        attachments: tuple[Attachment, ...], reply_to: str | None, extra: dict[str, Any]) -> Mention:
    return Mention(external_id=mid, channel=channel, text=text, author=Author(id=sender), is_private=True,
                   conversation_id=f"{account}:{sender}", in_reply_to=reply_to, attachments=attachments,
                   posted_at=from_unix(event.get("timestamp")), extra=extra)


def _messaging_attachments(value: Any) -> tuple[Attachment, ...]:
    out: list[Attachment] = []
    for attachment in value if isinstance(value, list) else []:
        if not isinstance(attachment, dict):
            continue
        kind = _MESSENGER_ATTACHMENT_TYPES.get(str(attachment.get("type")), str(attachment.get("type") or "file"))
        payload = child(attachment, "payload")
        coordinates = payload.get("coordinates") if isinstance(payload.get("coordinates"), dict) else None
        if coordinates is not None:
            out.append(Attachment("location", id=f"{coordinates.get('lat')},{coordinates.get('long')}"))
        else:
            out.append(Attachment(kind, url=optional_str(payload, "url"),
                                  id=optional_id(payload.get("attachment_id") or payload.get("sticker_id"))))
    return tuple(out)
