"""The pure adapters: payload bytes in, normalised events out (tables of inputs and outputs)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.ingest.adapters.common import AdapterError, EditedItem, IgnoredItem, RemovedItem
from app.ingest.adapters.meta import parse_meta
from app.ingest.adapters.telegram import parse_telegram
from app.ingest.adapters.whatsapp import parse_whatsapp
from app.ingest.adapters.x import parse_x
from app.ingest.standard import ParsedItem
from app.mentions.model import Attachment
from tests.ingest.platform_support import SAMPLES


def body(document: Any) -> bytes:
    return json.dumps(document).encode()


def feed(value: dict[str, Any], page: str = "7") -> bytes:
    return body({"object": "page", "entry": [{"id": page, "time": 1, "changes": [{"field": "feed", "value": value}]}]})


def wa(message: dict[str, Any]) -> bytes:
    return body(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "1",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "metadata": {"phone_number_id": "5"},
                                "contacts": [{"wa_id": "316", "profile": {"name": "An"}}],
                                "messages": [{"from": "316", "id": "wamid.1", "timestamp": "1700000000", **message}],
                            },
                        }
                    ],
                }
            ],
        }
    )


def tg(message: dict[str, Any], key: str = "message") -> bytes:
    base = {
        "message_id": 9,
        "date": 1700000000,
        "chat": {"id": 55, "type": "private"},
        "from": {"id": 55, "first_name": "Ann", "username": "ann"},
    }
    return body({"update_id": 1, key: {**base, **message}})


def only(items: list[Any]) -> Any:
    assert len(items) == 1, items
    return items[0]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (
            {"item": "post", "verb": "add", "post_id": "7_1", "from": {"id": "7"}, "message": "our news"},
            "the Page's own post",
        ),
        (
            {"item": "reaction", "verb": "add", "post_id": "7_1", "from": {"id": "3"}, "reaction_type": "like"},
            "feed reaction: not a customer message",
        ),
        (
            {"item": "comment", "verb": "hide", "comment_id": "1_2", "post_id": "7_1", "from": {"id": "3"}},
            "feed comment hide: a moderation change",
        ),
    ],
)
def test_facebook_feed_events_that_are_not_customer_messages(value: dict[str, Any], reason: str) -> None:
    item = only(parse_meta(feed(value)).items)
    assert isinstance(item, IgnoredItem) and item.reason == reason


def test_facebook_feed_edit_and_photo() -> None:
    edited = only(
        parse_meta(
            feed(
                {
                    "item": "status",
                    "verb": "edited",
                    "post_id": "7_1",
                    "from": {"id": "3"},
                    "message": "new text",
                    "created_time": 1700000000,
                }
            )
        ).items
    )
    assert isinstance(edited, EditedItem)
    assert (edited.mention.external_id, edited.mention.text, edited.mention.url) == (
        "7_1",
        "new text",
        "https://www.facebook.com/7_1",
    )
    photo = only(
        parse_meta(
            feed(
                {
                    "item": "photo",
                    "verb": "add",
                    "post_id": "7_2",
                    "photo_id": "8",
                    "link": "https://x.test/p.jpg",
                    "from": {"id": "3"},
                }
            )
        ).items
    )
    assert isinstance(photo, ParsedItem) and photo.mention.attachments == (
        Attachment("image", "https://x.test/p.jpg", "8"),
    )


def test_instagram_own_comment_is_ignored_and_a_broken_change_is_a_failure_next_to_good_ones() -> None:
    document = {
        "object": "instagram",
        "entry": [
            {
                "id": "17",
                "time": 1,
                "changes": [
                    {
                        "field": "comments",
                        "value": {"id": "1", "text": "our reply", "from": {"id": "17", "username": "telco"}},
                    },
                    {"field": "comments", "value": {"text": "no id", "from": {"id": "3"}}},
                    {
                        "field": "comments",
                        "value": {"id": "2", "text": "klopt", "from": {"id": "3", "username": "jan"}},
                    },
                ],
            }
        ],
    }
    parsed = parse_meta(body(document))
    assert [type(i).__name__ for i in parsed.items] == ["IgnoredItem", "ParsedItem"]
    assert parsed.failures == ["[0].entry[0].changes[1]: value.id: missing id"]


def test_messenger_attachments_location_reply_edit_and_receipts() -> None:
    events = [
        {
            "sender": {"id": "u"},
            "recipient": {"id": "p"},
            "timestamp": 1700000000000,
            "message": {
                "mid": "m1",
                "reply_to": {"mid": "m0"},
                "attachments": [
                    {"type": "image", "payload": {"url": "https://cdn.test/i.png"}},
                    {"type": "location", "payload": {"coordinates": {"lat": 52.1, "long": 5.1}}},
                ],
            },
        },
        {
            "sender": {"id": "u"},
            "recipient": {"id": "p"},
            "timestamp": 1700000001000,
            "message_edit": {"mid": "m1", "text": "bewerkt", "num_edit": 1},
        },
        {"sender": {"id": "u"}, "recipient": {"id": "p"}, "delivery": {"mids": ["x"]}},
    ]
    parsed = parse_meta(body({"object": "page", "entry": [{"id": "p", "time": 1, "messaging": events}]}))
    first, edit, receipt = parsed.items
    assert isinstance(first, ParsedItem)
    assert first.mention.attachments == (
        Attachment("image", "https://cdn.test/i.png"),
        Attachment("location", id="52.1,5.1"),
    )
    assert (first.mention.text, first.mention.in_reply_to, first.mention.conversation_id) == ("", "m0", "p:u")
    assert isinstance(edit, EditedItem) and edit.mention.text == "bewerkt" and edit.mention.external_id == "m1"
    assert isinstance(receipt, IgnoredItem) and "delivery" in receipt.reason


def test_instagram_direct_message_and_unsent_message() -> None:
    events = [
        {"sender": {"id": "u"}, "recipient": {"id": "17"}, "timestamp": 1, "message": {"mid": "a", "text": "hoi"}},
        {"sender": {"id": "u"}, "recipient": {"id": "17"}, "timestamp": 2, "message": {"mid": "a", "is_deleted": True}},
    ]
    new, removed = parse_meta(body({"object": "instagram", "entry": [{"id": "17", "messaging": events}]})).items
    assert isinstance(new, ParsedItem) and (new.mention.channel, new.mention.is_private) == ("instagram", True)
    assert isinstance(removed, RemovedItem) and removed.external_id == "a"


@pytest.mark.parametrize(
    ("message", "text", "attachments"),
    [
        (
            {"type": "image", "image": {"id": "med1", "caption": "kapot scherm"}},
            "kapot scherm",
            (Attachment("image", id="med1"),),
        ),
        ({"type": "audio", "audio": {"id": "med2"}}, "", (Attachment("audio", id="med2"),)),
        (
            {"type": "document", "document": {"id": "med3", "filename": "f.pdf"}},
            "",
            (Attachment("document", id="med3"),),
        ),
        (
            {"type": "location", "location": {"latitude": 52.3, "longitude": 4.9, "name": "Thuis"}},
            "Thuis",
            (Attachment("location", id="52.3,4.9"),),
        ),
        (
            {
                "type": "interactive",
                "interactive": {"type": "button_reply", "button_reply": {"id": "b", "title": "Ja"}},
            },
            "Ja",
            (),
        ),
    ],
)
def test_whatsapp_message_types(message: dict[str, Any], text: str, attachments: tuple[Attachment, ...]) -> None:
    item = only(parse_whatsapp(wa(message)).items)
    assert isinstance(item, ParsedItem)
    assert (item.mention.text, item.mention.attachments, item.mention.author.name) == (text, attachments, "An")


def test_whatsapp_reply_context_and_reactions() -> None:
    reply = only(
        parse_whatsapp(wa({"type": "text", "text": {"body": "ja"}, "context": {"from": "5", "id": "wamid.0"}})).items
    )
    assert reply.mention.in_reply_to == "wamid.0"
    reaction = only(
        parse_whatsapp(wa({"type": "reaction", "reaction": {"message_id": "wamid.0", "emoji": "👍"}})).items
    )
    assert isinstance(reaction, IgnoredItem)
    broken = parse_whatsapp(wa({"type": "text", "text": {}}))
    assert broken.items == [] and broken.failures == ["[0].entry[0].changes[0].value.messages[0]: text.body: missing"]


def test_x_tweet_edit_media_quote_and_bodies_without_for_user_id() -> None:
    tweet = {
        "id_str": "12",
        "text": "nieuw",
        "user": {"id_str": "3", "screen_name": "a"},
        "lang": "und",
        "edit_history": {"initial_tweet_id": "10", "edit_tweet_ids": ["10", "12"]},
        "extended_entities": {"media": [{"type": "photo", "id_str": "m", "media_url_https": "https://pbs.test/m.jpg"}]},
    }
    edit = only(parse_x(body({"for_user_id": "1", "tweet_create_events": [tweet]})).items)
    assert isinstance(edit, EditedItem)
    assert (edit.mention.external_id, edit.mention.language, edit.mention.extra) == (
        "10",
        None,
        {"account_id": "1", "latest_id": "12"},
    )
    assert edit.mention.attachments == (Attachment("image", "https://pbs.test/m.jpg", "m"),)
    with pytest.raises(AdapterError):
        parse_x(body({"tweet_create_events": [tweet]}))
    own_dm = {
        "type": "message_create",
        "id": "9",
        "message_create": {"sender_id": "1", "target": {"recipient_id": "3"}, "message_data": {"text": "our answer"}},
    }
    assert isinstance(only(parse_x(body({"for_user_id": "1", "direct_message_events": [own_dm]})).items), IgnoredItem)


@pytest.mark.parametrize(
    ("message", "key", "reason"),
    [
        ({"text": "/help@telco_bot"}, "message", "a bot command"),
        ({"text": "hoi", "from": {"id": 8, "is_bot": True, "first_name": "b"}}, "message", "a message from a bot"),
        ({"new_chat_members": [{"id": 3}]}, "message", "a service message"),
        (
            {"text": "announcement", "chat": {"id": -100, "type": "channel"}},
            "channel_post",
            "telegram channel_post: not a customer message",
        ),
    ],
)
def test_telegram_updates_that_are_not_customer_messages(message: dict[str, Any], key: str, reason: str) -> None:
    assert only(parse_telegram(tg(message, key)).items).reason == reason


def test_telegram_photo_caption_group_and_forward_origin() -> None:
    item = only(
        parse_telegram(
            tg(
                {
                    "caption": "Zie foto",
                    "photo": [{"file_id": "small"}, {"file_id": "large"}],
                    "chat": {"id": -200, "type": "supergroup", "username": "telcohulp"},
                    "forward_origin": {"type": "user", "sender_user": {"id": 4}, "date": 1},
                }
            )
        ).items
    )
    assert isinstance(item, ParsedItem)
    m = item.mention
    assert (m.text, m.attachments, m.is_private, m.external_id) == (
        "Zie foto",
        (Attachment("image", id="large"),),
        False,
        "-200:9",
    )
    assert m.url == "https://t.me/telcohulp/9"
    assert m.extra is not None and m.extra["forwarded"]["origin"]["type"] == "user"
    with pytest.raises(AdapterError):
        parse_telegram(b'{"message": {}}')


def test_every_sample_parses_without_failures() -> None:
    parsers = {
        "meta": parse_meta,
        "facebook": parse_meta,
        "instagram": parse_meta,
        "messenger": parse_meta,
        "whatsapp": parse_whatsapp,
        "x": parse_x,
        "telegram": parse_telegram,
    }
    for path in SAMPLES.glob("*.json"):
        prefix = path.name.split("_")[0]
        if prefix in parsers and path.name != "messenger_message_event.json":
            assert parsers[prefix](path.read_bytes()).failures == [], path.name
