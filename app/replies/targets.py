"""How to answer a mention on its platform, and how to find an answer that may already be there.

Pure: from the replied-to mention's stored fields to a `(method, target)` plan, from a plan to the
HTTP request that posts the reply, from the platform's answer to the reply's id, and (where the
platform's API allows it) the request that lists recent replies and the test that recognises ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.ingest.platform_ids import TELEGRAM_NUMBER, TELEGRAM_TOKEN, graph_id, path_segment, x_id

GRAPH_URL = "https://graph.facebook.com/v21.0"
X_URL = "https://api.x.com"
TELEGRAM_URL = "https://api.telegram.org"


@dataclass(frozen=True)
class Bases:
    """The platforms' API roots (tests and proxies may point them elsewhere)."""

    graph: str = GRAPH_URL
    x: str = X_URL
    telegram: str = TELEGRAM_URL


@dataclass(frozen=True)
class ApiRequest:
    method: str
    url: str
    json: dict[str, Any] | None = None
    params: dict[str, str] | None = None


@dataclass(frozen=True)
class ReplyTo:
    """The fields of the replied-to mention a plan needs."""

    channel: str
    external_id: str
    author_id: str | None
    conversation_id: str | None
    is_private: bool
    extra: dict[str, Any]


def plan_reply(mention: ReplyTo) -> tuple[str, dict[str, Any]] | None:
    """The method and target ids that answer `mention`, or None when its platform cannot be
    answered from here."""
    extra, account = mention.extra, mention.extra.get("account_id")
    if mention.channel == "facebook":
        return "facebook_comment", {"object_id": mention.external_id, "account_id": account}
    if mention.channel in ("messenger", "instagram") and mention.is_private:
        return "messenger_message", {"recipient_id": mention.author_id, "account_id": account,
                                     "platform": mention.channel}
    if mention.channel == "instagram" and extra.get("item") in ("mention_comment", "mention_media"):
        return "instagram_mention", {"account_id": account, "media_id": extra.get("media_id"),
                                     "comment_id": extra.get("comment_id")}
    if mention.channel == "instagram":
        return "instagram_comment", {"comment_id": mention.external_id, "account_id": account}
    if mention.channel == "whatsapp":
        return "whatsapp_message", {"phone_number_id": account, "to": mention.author_id,
                                    "context_id": mention.external_id}
    if mention.channel == "x" and mention.is_private:
        return "x_dm", {"participant_id": mention.author_id, "account_id": account}
    if mention.channel == "x":
        return "x_reply", {"in_reply_to": extra.get("latest_id") or mention.external_id, "account_id": account}
    if mention.channel == "telegram":
        chat_id, _, message_id = mention.external_id.rpartition(":")
        return "telegram_message", {"chat_id": chat_id or mention.conversation_id, "message_id": message_id}
    return None


def send_request(method: str, target: dict[str, Any], text: str, *, token: str, bases: Bases) -> ApiRequest:
    """The request that posts `text` as the reply. Telegram carries the token in the path; the
    others send it as `Authorization: Bearer` (added by the caller). Every id in the path is checked
    against its platform's format and encoded (InvalidPlatformId otherwise)."""
    if method == "facebook_comment":
        return ApiRequest("POST", f"{bases.graph}/{graph_id(target['object_id'], 'object_id')}/comments",
                          json={"message": text})
    if method == "instagram_comment":
        return ApiRequest("POST", f"{bases.graph}/{graph_id(target['comment_id'], 'comment_id')}/replies",
                          json={"message": text})
    if method == "instagram_mention":
        body = {"media_id": target["media_id"], "message": text}
        if target.get("comment_id"):
            body["comment_id"] = target["comment_id"]
        return ApiRequest("POST", f"{bases.graph}/{graph_id(target['account_id'], 'account_id')}/mentions", json=body)
    if method == "messenger_message":
        return ApiRequest("POST", f"{bases.graph}/me/messages",
                          json={"recipient": {"id": target["recipient_id"]}, "messaging_type": "RESPONSE",
                                "message": {"text": text}})
    if method == "whatsapp_message":
        return ApiRequest("POST", f"{bases.graph}/{graph_id(target['phone_number_id'], 'phone_number_id')}/messages",
                          json={"messaging_product": "whatsapp", "recipient_type": "individual",
                                "to": target["to"], "type": "text", "text": {"body": text},
                                "context": {"message_id": target["context_id"]}})
    if method == "x_reply":
        return ApiRequest("POST", f"{bases.x}/2/tweets",
                          json={"text": text, "reply": {"in_reply_to_tweet_id": target["in_reply_to"]}})
    if method == "x_dm":
        participant = x_id(target["participant_id"], "participant_id")
        return ApiRequest("POST", f"{bases.x}/2/dm_conversations/with/{participant}/messages", json={"text": text})
    if method == "telegram_message":
        body = {"chat_id": target["chat_id"], "text": text}
        if target.get("message_id"):
            message_id = path_segment(target["message_id"], TELEGRAM_NUMBER, "message_id")
            body["reply_parameters"] = {"message_id": int(message_id), "allow_sending_without_reply": True}
        bot = path_segment(token, TELEGRAM_TOKEN, "the bot token")
        return ApiRequest("POST", f"{bases.telegram}/bot{bot}/sendMessage", json=body)
    raise ValueError(f"unknown reply method {method}")


def reply_id(method: str, target: dict[str, Any], answer: Any) -> str | None:
    """The platform's id of the posted reply, read from its 2xx answer (None when absent)."""
    if not isinstance(answer, dict):
        return None
    if method in ("facebook_comment", "instagram_comment", "instagram_mention"):
        return _str(answer.get("id"))
    if method == "messenger_message":
        return _str(answer.get("message_id"))
    if method == "whatsapp_message":
        messages = answer.get("messages")
        return _str(messages[0].get("id")) if isinstance(messages, list) and messages and \
            isinstance(messages[0], dict) else None
    if method == "x_reply":
        return _str((answer.get("data") or {}).get("id"))
    if method == "x_dm":
        return _str((answer.get("data") or {}).get("dm_event_id"))
    if method == "telegram_message":
        message_id = (answer.get("result") or {}).get("message_id") if answer.get("ok") else None
        return f"{target['chat_id']}:{message_id}" if message_id is not None else None
    return None


def lookup_request(method: str, target: dict[str, Any], *, bases: Bases) -> ApiRequest | None:
    """The request listing recent replies where ours would be, or None when the platform's API
    offers no way to read back what was sent (WhatsApp, Telegram, Instagram mention replies).
    Path ids are checked as in `send_request`."""
    if method == "facebook_comment":
        return ApiRequest("GET", f"{bases.graph}/{graph_id(target['object_id'], 'object_id')}/comments",
                          params={"fields": "id,message,from", "order": "reverse_chronological", "limit": "50"})
    if method == "instagram_comment":
        return ApiRequest("GET", f"{bases.graph}/{graph_id(target['comment_id'], 'comment_id')}/replies",
                          params={"fields": "id,text,from"})
    if method == "messenger_message" and target.get("platform") != "instagram":
        return ApiRequest("GET", f"{bases.graph}/me/conversations",
                          params={"user_id": str(target["recipient_id"]),
                                  "fields": "messages.limit(25){id,message,from}"})
    if method == "x_reply" and target.get("account_id"):
        return ApiRequest("GET", f"{bases.x}/2/users/{x_id(target['account_id'], 'account_id')}/tweets",
                          params={"max_results": "20", "tweet.fields": "referenced_tweets"})
    if method == "x_dm":
        participant = x_id(target["participant_id"], "participant_id")
        return ApiRequest("GET", f"{bases.x}/2/dm_conversations/with/{participant}/dm_events",
                          params={"max_results": "50", "dm_event.fields": "sender_id,text"})
    return None


def find_reply(method: str, target: dict[str, Any], text: str, answer: Any) -> str | None:
    """The id of our reply in a `lookup_request` answer, or None when it is not there."""
    if not isinstance(answer, dict):
        return None
    account = target.get("account_id")
    data = answer.get("data")
    items: list[Any] = data if isinstance(data, list) else []
    if method == "messenger_message":
        conversations = items
        items = []
        for conversation in conversations:
            messages = (conversation.get("messages") or {}).get("data") if isinstance(conversation, dict) else None
            items += messages if isinstance(messages, list) else []
    for item in items:
        if not isinstance(item, dict):
            continue
        sender = item.get("sender_id") or (item.get("from") or {}).get("id")
        said = item.get("message") if "message" in item else item.get("text")
        if method == "x_reply":
            replied = [r.get("id") for r in item.get("referenced_tweets") or [] if r.get("type") == "replied_to"]
            if target["in_reply_to"] in replied and isinstance(said, str) and text.strip() in said:
                return _str(item.get("id"))
            continue
        if said == text and (account is None or sender is None or str(sender) == str(account)):
            return _str(item.get("id"))
    return None


def _str(value: Any) -> str | None:
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) and value != "" else None
