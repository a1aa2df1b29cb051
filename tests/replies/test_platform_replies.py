"""`respond` with `send: true` through the platforms, end to end: the action queues the reply, the
sender posts it after the commit (platform APIs mocked with respx), records the platform's id, shows
failures on the case, and never posts twice blindly after an unknown outcome."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import respx
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.kernel.clock import utc_now
from app.replies.models import PlatformReply
from app.replies.sender import ReplySender
from app.replies.targets import Bases
from app.secrets import SecretStore
from tests.conftest import BASIC_RULES
from tests.ingest.platform_support import PlatformPoster, feed_post_with_ids, platform_rules
from tests.support import ApiClient

GRAPH = "https://graph.test/v21.0"
X = "https://x.test"
TG = "https://tg.test"
TOKENS = {
    "TEST_META_PAGE_TOKEN": "page-token",
    "TEST_WHATSAPP_TOKEN": "wa-token",
    "TEST_X_TOKEN": "x-token",
    "TEST_TELEGRAM_BOT_TOKEN": "123:tg-token",
}


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    return platform_rules(BASIC_RULES, tmp_path / "rules")


@pytest.fixture
def poster(client: TestClient, app) -> PlatformPoster:  # type: ignore[no-untyped-def]
    secrets = app.state.secrets
    return PlatformPoster(
        client,
        secrets.get("TEST_META_APP_SECRET"),
        secrets.get("TEST_X_CONSUMER_SECRET"),
        secrets.get("TEST_TELEGRAM_SECRET"),
    )


def sender(
    app,
    sessions: sessionmaker[Session],
    tmp_path: Path,
    client: httpx.AsyncClient,  # type: ignore[no-untyped-def]
    tokens: dict[str, str] = TOKENS,
) -> ReplySender:
    secrets = SecretStore(production=False, var_dir=tmp_path / "sender", environ=tokens)
    return ReplySender(
        sessions,
        app.state.rules,
        secrets,
        worker_id="w1",
        client=client,
        bases=Bases(graph=GRAPH, x=X, telegram=TG),
        timeout=1,
        lease_seconds=30,
        retry_seconds=30,
    )


def run(worker: ReplySender, minutes: float = 0) -> int:
    return asyncio.run(worker.run_once(utc_now() + timedelta(minutes=minutes)))


def respond(api: ApiClient, ref: str, text: str, send: bool = True) -> dict:  # type: ignore[type-arg]
    response = api.post(f"/api/v1/cases/{ref}/respond", json={"text": text, "send": send})
    assert response.status_code == 200, response.text
    return response.json()


def the_reply(session: Session) -> PlatformReply:
    session.expire_all()
    [reply] = session.scalars(select(PlatformReply))
    return reply


def test_x_reply_is_posted_after_the_commit_and_its_id_recorded(
    poster: PlatformPoster, api: ApiClient, app, sessions, session: Session, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    ref = poster.sample("xx", "x_tweet_create_events.json").json()["cases"][0]
    case = respond(api, ref, "Dank voor je bericht, we kijken ernaar!")
    responded = [e for e in case["timeline"] if e["type"] == "responded"][-1]
    assert responded["data"]["delivery"] == "queued" and responded["data"]["method"] == "x_reply"
    with respx.mock(assert_all_called=True) as mock:
        post = mock.post(f"{X}/2/tweets").respond(201, json={"data": {"id": "1999", "text": "Dank..."}})
        assert run(sender(app, sessions, tmp_path, httpx.AsyncClient())) == 1
    sent = json.loads(post.calls.last.request.content)
    assert sent == {
        "text": "Dank voor je bericht, we kijken ernaar!",
        "reply": {"in_reply_to_tweet_id": "1924465506158878979"},
    }
    assert post.calls.last.request.headers["authorization"] == "Bearer x-token"
    reply = the_reply(session)
    assert (reply.status, reply.platform_reply_id, reply.attempts) == ("sent", "1999", 1)
    timeline = api.get(f"/api/v1/cases/{ref}").json()["timeline"]
    assert [e["data"]["platform_reply_id"] for e in timeline if e["type"] == "reply_sent"] == ["1999"]
    assert run(sender(app, sessions, tmp_path, httpx.AsyncClient())) == 0  # nothing left to send


def test_a_refusal_shows_on_the_case_and_in_the_queue(
    poster: PlatformPoster, api: ApiClient, app, sessions, session: Session, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    ref = poster.sample("fb", "messenger_message.json").json()["cases"][0]
    respond(api, ref, "Hallo!")
    with respx.mock() as mock:
        mock.post(f"{GRAPH}/me/messages").respond(
            400, json={"error": {"message": "(#551) This person isn't available right now.", "code": 551}}
        )
        run(sender(app, sessions, tmp_path, httpx.AsyncClient()))
    reply = the_reply(session)
    assert reply.status == "failed" and "isn't available" in (reply.last_error or "")
    case = api.get(f"/api/v1/cases/{ref}").json()
    assert "reply-failed" in case["tags"]
    failed = next(e for e in case["timeline"] if e["type"] == "reply_failed")
    assert failed["data"]["text"] == "Hallo!" and "551" in failed["data"]["error"]
    queue = api.get("/api/v1/cases", params={"tag": "reply-failed"}).json()["items"]
    assert [c["ref"] for c in queue] == [ref]
    # the agent answers again: the flag goes, the new reply is queued
    respond(api, ref, "Nog een poging")
    assert "reply-failed" not in api.get(f"/api/v1/cases/{ref}").json()["tags"]


def test_a_timeout_is_followed_by_a_lookup_not_a_second_post(
    poster: PlatformPoster, api: ApiClient, app, sessions, session: Session, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    ref = poster.sample("fb", "instagram_comment.json").json()["cases"][0]
    respond(api, ref, "We sturen je een DM")
    with respx.mock() as mock:
        post = mock.post(f"{GRAPH}/123456789/replies").mock(side_effect=httpx.ReadTimeout("read timed out"))
        run(sender(app, sessions, tmp_path, httpx.AsyncClient()))
        reply = the_reply(session)
        assert (reply.status, reply.uncertain, reply.attempts) == ("pending", True, 1)
        assert run(sender(app, sessions, tmp_path, httpx.AsyncClient())) == 0  # backing off
        lookup = mock.get(f"{GRAPH}/123456789/replies").respond(
            200,
            json={
                "data": [
                    {"id": "178", "text": "iets anders", "from": {"id": "0"}},
                    {"id": "179", "text": "We sturen je een DM", "from": {"id": "0"}},
                ]
            },
        )
        run(sender(app, sessions, tmp_path, httpx.AsyncClient()), minutes=2)
    assert post.call_count == 1 and lookup.call_count == 1
    reply = the_reply(session)
    assert (reply.status, reply.platform_reply_id) == ("sent", "179")
    sent = [e for e in api.get(f"/api/v1/cases/{ref}").json()["timeline"] if e["type"] == "reply_sent"]
    assert sent[0]["data"]["found_by_lookup"] is True


def test_after_a_timeout_a_reply_that_is_not_there_is_posted_once_more(
    poster: PlatformPoster, api: ApiClient, app, sessions, session: Session, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    ref = poster.post("fb", feed_post_with_ids()).json()["cases"][0]
    respond(api, ref, "Smakelijk!")
    with respx.mock() as mock:
        post = mock.post(f"{GRAPH}/1234567890321_901097836652708/comments").mock(
            side_effect=[httpx.ReadTimeout("timed out"), httpx.Response(200, json={"id": "c-2"})]
        )
        mock.get(f"{GRAPH}/1234567890321_901097836652708/comments").respond(200, json={"data": []})
        run(sender(app, sessions, tmp_path, httpx.AsyncClient()))
        run(sender(app, sessions, tmp_path, httpx.AsyncClient()), minutes=2)
    assert post.call_count == 2
    assert (the_reply(session).status, the_reply(session).platform_reply_id) == ("sent", "c-2")


def test_without_a_way_to_look_the_reply_up_an_agent_is_asked_to_check(
    poster: PlatformPoster, api: ApiClient, app, sessions, session: Session, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    ref = poster.sample("wa", "whatsapp_message.json").json()["cases"][0]
    respond(api, ref, "Ja, ook in het blauw")
    with respx.mock() as mock:
        post = mock.post(f"{GRAPH}/106540352242922/messages").mock(side_effect=httpx.ReadTimeout("timed out"))
        run(sender(app, sessions, tmp_path, httpx.AsyncClient()))
        run(sender(app, sessions, tmp_path, httpx.AsyncClient()), minutes=2)
        run(sender(app, sessions, tmp_path, httpx.AsyncClient()), minutes=60)
    assert post.call_count == 1
    body = json.loads(post.calls.last.request.content)
    assert body["to"] == "16505551234" and body["text"] == {"body": "Ja, ook in het blauw"}
    assert the_reply(session).status == "unconfirmed"
    case = api.get(f"/api/v1/cases/{ref}").json()
    assert "reply-unconfirmed" in case["tags"]
    assert next(e for e in case["timeline"] if e["type"] == "reply_unconfirmed")["data"][
        "text"
    ] == "Ja, ook in het blauw"


def test_a_connection_refused_is_retried_and_telegram_replies_in_the_chat(
    poster: PlatformPoster, api: ApiClient, app, sessions, session: Session, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    ref = poster.sample("tg", "telegram_edited_message.json").json()["cases"][0]
    respond(api, ref, "Hoi! Waarmee kunnen we helpen?")
    with respx.mock() as mock:
        post = mock.post(f"{TG}/bot123:tg-token/sendMessage").mock(
            side_effect=[
                httpx.ConnectError("refused"),
                httpx.Response(200, json={"ok": True, "result": {"message_id": 1400}}),
            ]
        )
        run(sender(app, sessions, tmp_path, httpx.AsyncClient()))
        assert (the_reply(session).status, the_reply(session).uncertain) == ("pending", False)
        run(sender(app, sessions, tmp_path, httpx.AsyncClient()), minutes=2)
    assert post.call_count == 2
    assert json.loads(post.calls.last.request.content) == {
        "chat_id": "1111111",
        "text": "Hoi! Waarmee kunnen we helpen?",
        "reply_parameters": {"message_id": 1365, "allow_sending_without_reply": True},
    }
    assert "authorization" not in post.calls.last.request.headers
    assert (the_reply(session).status, the_reply(session).platform_reply_id) == ("sent", "1111111:1400")


def test_send_false_and_connectors_without_a_token_record_the_reply_only(
    poster: PlatformPoster, api: ApiClient, session: Session
) -> None:
    ref = poster.sample("xx", "x_direct_message_events.json").json()["cases"][0]
    case = respond(api, ref, "Beantwoord in de X-app", send=False)
    assert [e for e in case["timeline"] if e["type"] == "responded"][-1]["data"]["delivery"] == "recorded"
    body = json.dumps(
        {
            "for_user_id": "99",
            "tweet_create_events": [{"id_str": "5", "text": "storing?", "user": {"id_str": "4", "screen_name": "k"}}],
        }
    ).encode()
    ref2 = poster.post("xr", body).json()["cases"][0]  # `xr` has no access_token_env
    data = [e for e in respond(api, ref2, "Hallo")["timeline"] if e["type"] == "responded"][-1]["data"]
    assert data["delivery"] == "recorded" and "cannot send" in data["reason"]
    assert session.scalars(select(PlatformReply)).all() == []


def test_x_dm_reply_and_a_missing_token_fails_visibly(
    poster: PlatformPoster, api: ApiClient, app, sessions, session: Session, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    ref = poster.sample("xx", "x_direct_message_events.json").json()["cases"][0]
    respond(api, ref, "Stuur ons je klantnummer")
    with respx.mock(assert_all_mocked=True):
        run(sender(app, sessions, tmp_path, httpx.AsyncClient(), tokens={}))
    assert the_reply(session).status == "failed"
    assert "no access token" in (the_reply(session).last_error or "")
    respond(api, ref, "Stuur ons je klantnummer")
    with respx.mock() as mock:
        post = mock.post(f"{X}/2/dm_conversations/with/3001969357/messages").respond(
            201, json={"data": {"dm_conversation_id": "1-2", "dm_event_id": "777"}}
        )
        run(sender(app, sessions, tmp_path, httpx.AsyncClient()))
    assert post.call_count == 1
    session.expire_all()
    assert [r.platform_reply_id for r in session.scalars(select(PlatformReply).order_by(PlatformReply.id))] == [
        None,
        "777",
    ]
