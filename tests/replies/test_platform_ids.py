"""Platform ids from webhook bodies never re-target a platform API request: each id is checked
against its platform's format and encoded as one path segment; a `../` id is refused before any
request is made (respx sees none), and the reply fails visibly."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
import respx
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.ingest.enrichment import instagram_mention_request
from app.ingest.platform_ids import InvalidPlatformId
from app.kernel.clock import utc_now
from app.replies.models import PlatformReply
from app.replies.sender import ReplySender
from app.replies.targets import Bases, lookup_request, send_request
from app.secrets import SecretStore
from tests.conftest import BASIC_RULES
from tests.ingest.platform_support import SAMPLES, PlatformPoster, feed_post_with_ids, platform_rules
from tests.support import ApiClient

B = Bases(graph="https://graph.test/v21.0", x="https://x.test", telegram="https://tg.test")
TOKENS = {"TEST_META_PAGE_TOKEN": "page-token", "TEST_WHATSAPP_TOKEN": "wa-token", "TEST_X_TOKEN": "x-token",
          "TEST_TELEGRAM_BOT_TOKEN": "123:tg-token"}

# method, target with good ids, the URL sent, the key whose `../` value must be refused
GOOD = [
    ("facebook_comment", {"object_id": "1234_5678"}, "https://graph.test/v21.0/1234_5678/comments", "object_id"),
    ("instagram_comment", {"comment_id": "17894227972186120"},
     "https://graph.test/v21.0/17894227972186120/replies", "comment_id"),
    ("instagram_mention", {"account_id": "17841405726653026", "media_id": "1"},
     "https://graph.test/v21.0/17841405726653026/mentions", "account_id"),
    ("whatsapp_message", {"phone_number_id": "106540352242922", "to": "1", "context_id": "w"},
     "https://graph.test/v21.0/106540352242922/messages", "phone_number_id"),
    ("x_dm", {"participant_id": "3001969357"}, "https://x.test/2/dm_conversations/with/3001969357/messages",
     "participant_id"),
    ("telegram_message", {"chat_id": "-100123", "message_id": "1365"}, "https://tg.test/bot123:tg-token/sendMessage",
     "message_id"),
]


@pytest.mark.parametrize(("method", "target", "url", "key"), GOOD)
def test_good_ids_give_the_expected_url_and_bad_ones_no_request(method: str, target: dict[str, str], url: str,
                                                                key: str) -> None:
    assert send_request(method, target, "hoi", token="123:tg-token", bases=B).url == url
    empty = [""] if key != "message_id" else []  # a Telegram reply without a message id answers in the chat
    for bad in ("../me/feed", "1/../../me", "12%2F..", "1?x=1", "1#x", " 1", "1\n", *empty):
        with pytest.raises(InvalidPlatformId, match=key):
            send_request(method, {**target, key: bad}, "hoi", token="123:tg-token", bases=B)


def test_lookups_and_the_telegram_token_are_checked_too() -> None:
    assert lookup_request("x_reply", {"in_reply_to": "1", "account_id": "42"}, bases=B).url == \
        "https://x.test/2/users/42/tweets"  # type: ignore[union-attr]
    for method, target in [("facebook_comment", {"object_id": "../me/feed"}),
                           ("instagram_comment", {"comment_id": "../me"}),
                           ("x_reply", {"in_reply_to": "1", "account_id": "../2/tweets"}),
                           ("x_dm", {"participant_id": "1/../../2/tweets"})]:
        with pytest.raises(InvalidPlatformId):
            lookup_request(method, target, bases=B)
    with pytest.raises(InvalidPlatformId, match="bot token"):
        send_request("telegram_message", {"chat_id": "1"}, "hoi", token="123:abc/../../bot9:x", bases=B)


def test_instagram_mention_reads_check_their_ids() -> None:
    path, params = instagram_mention_request({"account_id": "17841405726653026", "comment_id": "17894227972186120"})
    assert path == "/17841405726653026" and "comment_id(17894227972186120)" in params["fields"]
    for extra in ({"account_id": "../me", "media_id": "1"}, {"account_id": "1", "comment_id": "1){id},x(2"},
                  {"account_id": "1", "media_id": "1/../2"}):
        with pytest.raises(InvalidPlatformId):
            instagram_mention_request(extra)


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    return platform_rules(BASIC_RULES, tmp_path / "rules")


def x_dm_from(sender_id: str) -> bytes:
    document = json.loads((SAMPLES / "x_direct_message_events.json").read_bytes())
    create = document["direct_message_events"][0]["message_create"]
    document["users"][sender_id] = document["users"].pop(create["sender_id"])
    create["sender_id"] = sender_id
    return json.dumps(document).encode()


def whatsapp_to(phone_number_id: str) -> bytes:
    return (SAMPLES / "whatsapp_message.json").read_bytes().replace(b'"106540352242922"',
                                                                   json.dumps(phone_number_id).encode())


@pytest.mark.parametrize(("connector", "body", "key"), [
    ("xx", lambda: x_dm_from("../../2/tweets"), "participant_id"),
    ("fb", lambda: feed_post_with_ids(post_id="../me/feed"), "object_id"),
    ("wa", lambda: whatsapp_to("../me"), "phone_number_id"),
])
def test_a_traversal_id_from_a_delivery_makes_no_request_and_the_reply_fails_visibly(
        client: TestClient, app, api: ApiClient, sessions: sessionmaker[Session], session: Session,  # type: ignore[no-untyped-def]
        tmp_path: Path, connector: str, body, key: str) -> None:  # type: ignore[no-untyped-def]
    store = app.state.secrets
    poster = PlatformPoster(client, store.get("TEST_META_APP_SECRET"), store.get("TEST_X_CONSUMER_SECRET"),
                            store.get("TEST_TELEGRAM_SECRET"))
    delivered = poster.post(connector, body())
    assert delivered.status_code == 200 and delivered.json()["accepted"] == 1, delivered.text
    ref = delivered.json()["cases"][0]
    assert api.post(f"/api/v1/cases/{ref}/respond", json={"text": "Hoi", "send": True}).status_code == 200
    worker = ReplySender(sessions, app.state.rules, SecretStore(production=False, var_dir=tmp_path / "s",
                                                                environ=TOKENS),
                         worker_id="w1", client=httpx.AsyncClient(), bases=B, timeout=1, lease_seconds=30)
    with respx.mock(assert_all_called=False) as mock:
        anything = mock.route().respond(200, json={"id": "1", "data": {"id": "1"}})
        asyncio.run(worker.run_once(utc_now()))
    assert anything.call_count == 0
    session.expire_all()
    [reply] = session.scalars(select(PlatformReply))
    assert reply.status == "failed" and key in (reply.last_error or ""), reply.last_error
    case = api.get(f"/api/v1/cases/{ref}").json()
    assert "reply-failed" in case["tags"]
