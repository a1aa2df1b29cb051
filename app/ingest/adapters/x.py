"""X Account Activity API webhooks. Pure: bytes in, events out.

Guarantees: ids are taken from `id_str` (never the numeric `id`, which loses precision); long
posts take their text from `extended_tweet.full_text`; the subscribed account's own posts and
DMs (`for_user_id`) are ignored, and so are retweets unless `include_retweets`, and every event
type other than posts, DMs and deletions (each such event counts once).
"""

from __future__ import annotations

from datetime import UTC, datetime
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
    items,
    load_json,
    optional_id,
    optional_str,
    text_id,
)
from app.ingest.standard import ParsedItem
from app.mentions.model import Attachment, Author, Mention

_HANDLED = ("tweet_create_events", "direct_message_events", "tweet_delete_events")
_MEDIA_TYPES = {"photo": "image", "video": "video", "animated_gif": "video"}


def parse_x(body: bytes, *, include_retweets: bool = False) -> Parsed:
    """The events of one Account Activity delivery. Raises AdapterError when the body is not an
    activity object or lacks `for_user_id`."""
    document = as_dict(load_json(body), "body")
    account = text_id(document.get("for_user_id"), "for_user_id")
    parsed = Parsed()
    users = child(document, "users")
    for key, value in document.items():
        if key in ("for_user_id", "users", "apps", "user_has_blocked", "source"):
            continue
        if key not in _HANDLED:
            for event in value if isinstance(value, list) else [value]:
                parsed.ignore(f"x {key}: not a post or a direct message", event)
            continue
        for i, event in enumerate(as_list(value, key)):
            try:
                event = as_dict(event, "event")
                if key == "tweet_create_events":
                    item = _tweet(event, account, include_retweets)
                elif key == "direct_message_events":
                    item = _direct_message(event, account, users)
                else:
                    status = as_dict(event.get("status"), "status")
                    item = RemovedItem(text_id(status.get("id_str") or status.get("id"), "status.id"), event,
                                       from_unix(event.get("timestamp_ms")))
                parsed.items.append(item)
            except AdapterError as exc:
                parsed.failures.append(f"{key}[{i}]: {exc}")
    return parsed


def _tweet(tweet: dict[str, Any], account: str, include_retweets: bool) -> Item:
    user = as_dict(tweet.get("user"), "user")
    author_id = text_id(user.get("id_str"), "user.id_str")
    if author_id == account:
        return IgnoredItem("the account's own post", tweet)
    if "retweeted_status" in tweet and not include_retweets:
        return IgnoredItem("a retweet", tweet)
    external_id = text_id(tweet.get("id_str"), "id_str")
    extended = child(tweet, "extended_tweet")
    text = extended.get("full_text") or tweet.get("full_text") or tweet.get("text")
    if not isinstance(text, str):
        raise AdapterError("text: missing")
    handle = optional_str(user, "screen_name")
    media = items(child(extended, "extended_entities") or child(tweet, "extended_entities"), "media")
    language = optional_str(tweet, "lang")
    extra: dict[str, Any] = {"account_id": account}
    if isinstance(tweet.get("quoted_status"), dict):
        extra["quoted_id"] = optional_id(tweet["quoted_status"].get("id_str"))
    history = child(tweet, "edit_history")
    initial = optional_id(history.get("initial_tweet_id"))
    mention = Mention(
        external_id=initial or external_id, channel="x", text=text,
        author=Author(id=author_id, handle=f"@{handle}" if handle else None, name=optional_str(user, "name"),
                      followers=user.get("followers_count") if isinstance(user.get("followers_count"), int) else None,
                      verified=user.get("verified") if isinstance(user.get("verified"), bool) else None),
        url=f"https://x.com/{handle}/status/{external_id}" if handle else None,
        language=None if language in (None, "und", "zxx", "qme", "qht") else language,
        in_reply_to=optional_id(tweet.get("in_reply_to_status_id_str")),
        attachments=tuple(Attachment(_MEDIA_TYPES.get(str(m.get("type")), "image"),
                                     url=optional_str(m, "media_url_https"), id=optional_id(m.get("id_str")))
                          for m in media if isinstance(m, dict)),
        posted_at=_created_at(tweet),
        extra={**extra, "latest_id": external_id} if initial and initial != external_id else extra,
    )
    if initial and initial != external_id:
        return EditedItem(mention, tweet, mention.posted_at)
    return ParsedItem(mention, tweet)


def _created_at(tweet: dict[str, Any]) -> datetime | None:
    value = tweet.get("created_at")
    if isinstance(value, str):
        try:
            return datetime.strptime(value, "%a %b %d %H:%M:%S %z %Y").astimezone(UTC)
        except ValueError:
            pass
    return from_unix(tweet.get("timestamp_ms"))


def _direct_message(event: dict[str, Any], account: str, users: dict[str, Any]) -> Item:
    if event.get("type") != "message_create":
        return IgnoredItem(f"x direct message event {event.get('type')}", event)
    create = as_dict(event.get("message_create"), "message_create")
    sender = text_id(create.get("sender_id"), "message_create.sender_id")
    if sender == account:
        return IgnoredItem("the account's own direct message", event)
    recipient = optional_id(child(create, "target").get("recipient_id")) or account
    data = as_dict(create.get("message_data"), "message_data")
    attachment = child(data, "attachment")
    media = attachment.get("media") if isinstance(attachment.get("media"), dict) else None
    profile = child(users, sender)
    handle = optional_str(profile, "screen_name")
    low, high = sorted((sender, recipient), key=lambda v: (len(v), v))
    mention = Mention(
        external_id=text_id(event.get("id"), "id"), channel="x", text=str(data.get("text") or ""),
        author=Author(id=sender, handle=f"@{handle}" if handle else None, name=optional_str(profile, "name"),
                      followers=profile.get("followers_count") if isinstance(profile.get("followers_count"), int)
                      else None,
                      verified=profile.get("verified") if isinstance(profile.get("verified"), bool) else None),
        is_private=True, conversation_id=f"{low}-{high}",
        attachments=(Attachment(_MEDIA_TYPES.get(str(media.get("type")), "image"),
                                url=optional_str(media, "media_url_https"),
                                id=optional_id(media.get("id_str"))),) if media else (),
        posted_at=from_unix(event.get("created_timestamp")), extra={"account_id": account},
    )
    return ParsedItem(mention, event)
