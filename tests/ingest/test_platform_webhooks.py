"""POST/GET /webhooks/{connector} for the platform kinds, through the real app and database: every
sample of shared/connectors gives the README's numbers, normalised as the platform meant it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.cases.models import Case, CaseEvent
from app.ingest.models import InboundDeadLetter, MentionEnrichment
from app.ingest.verification import hub_signature
from app.mentions.stored import StoredMention
from app.rules.hits import HitCount, read_hits
from tests.conftest import BASIC_RULES
from tests.ingest.platform_support import SAMPLES, SHARED_SAMPLES, PlatformPoster, platform_rules, poster_for
from tests.support import ApiClient, audited, make_user_token

# The table of shared/connectors/README.md: sample, connector, accepted, ignored.
TABLE = [
    ("meta_page_feed_post.json", "fb", 1, 0),
    ("meta_page_feed_comment.json", "fb", 0, 1),
    ("meta_user_photos_getting_started.json", "fb", 0, 1),
    ("instagram_comment.json", "fb", 1, 0),
    ("instagram_mention_comment.json", "fb", 1, 0),
    ("instagram_mention_media.json", "fb", 1, 0),
    ("messenger_message.json", "fb", 1, 0),
    ("whatsapp_message.json", "wa", 1, 0),
    ("whatsapp_message_ctwa_referral.json", "wa", 1, 0),
    ("x_tweet_create_events.json", "xx", 1, 0),
    ("x_direct_message_events.json", "xx", 1, 0),
    ("telegram_message.json", "tg", 0, 1),
    ("telegram_message_reply.json", "tg", 0, 1),
    ("telegram_forwarded_channel_message.json", "tg", 0, 1),
    ("telegram_edited_message.json", "tg", 1, 0),
    ("telegram_channel_post.CONSTRUCTED.json", "tg", 0, 1),
    ("facebook_page_rating_review.json", "fb", 1, 0),
]


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    return platform_rules(BASIC_RULES, tmp_path / "rules")


@pytest.fixture
def poster(client: TestClient, app) -> PlatformPoster:  # type: ignore[no-untyped-def]
    return poster_for(client, app)


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def stored(session: Session, connector: str) -> list[StoredMention]:
    return list(session.scalars(select(StoredMention).where(StoredMention.connector == connector)
                                .order_by(StoredMention.id)))


def test_samples_match_shared() -> None:
    if not SHARED_SAMPLES.exists():
        pytest.skip("shared/connectors is not beside this clone")
    for path in SHARED_SAMPLES.glob("*.json"):
        assert (SAMPLES / path.name).read_bytes() == path.read_bytes(), path.name


@pytest.mark.parametrize(("sample", "connector", "accepted", "ignored"), TABLE)
def test_each_sample_gives_the_readme_numbers_and_a_second_delivery_stores_nothing(
        poster: PlatformPoster, session: Session, sample: str, connector: str, accepted: int, ignored: int) -> None:
    first = poster.sample(connector, sample)
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["accepted"], body["ignored"], body["duplicates"], body["updated"], body["dead_lettered"]) == \
        (accepted, ignored, 0, 0, 0)
    assert len(body["cases"]) == accepted
    before = (count(session, StoredMention), count(session, Case), count(session, CaseEvent))
    second = poster.sample(connector, sample).json()
    assert (second["accepted"], second["duplicates"], second["ignored"], second["updated"]) == (0, accepted, ignored, 0)
    assert second["cases"] == []
    assert (count(session, StoredMention), count(session, Case), count(session, CaseEvent)) == before


def test_facebook_visitor_post(poster: PlatformPoster, session: Session) -> None:
    poster.sample("fb", "meta_page_feed_post.json")
    [m] = stored(session, "fb")
    assert (m.external_id, m.channel, m.text, m.is_private) == \
        ("{page-post-id}", "facebook", "It's Thursday and I want to eat cake.", False)
    assert (m.author_id, m.author_name) == ("{user-id}", "Cinderella Hoover")
    assert m.posted_at is not None and m.posted_at.isoformat() == "2018-03-08T21:33:34+00:00"
    assert m.language == "en"  # the platform gives none: detected


def test_facebook_rating_is_a_review_on_the_page(poster: PlatformPoster, session: Session) -> None:
    poster.sample("fb", "facebook_page_rating_review.json")
    [m] = stored(session, "fb")
    assert (m.external_id, m.channel, m.text) == ("904801129604590", "facebook", "Ja ziemlich coole Sache")
    assert (m.author_id, m.author_name) == ("705955836155788", "Tester")
    assert m.extra is not None and m.extra["rating"] == 3 and m.extra["recommendation_type"] == "POSITIVE"


def test_instagram_comment(poster: PlatformPoster, session: Session) -> None:
    poster.sample("fb", "instagram_comment.json")
    [m] = stored(session, "fb")
    assert (m.external_id, m.channel, m.text, m.in_reply_to) == ("123456789", "instagram", "This is an example.",
                                                                 "987654321")
    assert (m.author_id, m.author_handle) == ("1234536447", "@testuser")
    assert m.extra is not None and m.extra["media_id"] == "76543987"


@pytest.mark.parametrize(("sample", "external_id", "in_reply_to"), [
    ("instagram_mention_comment.json", "17894227972186120", "17918195224117851"),
    ("instagram_mention_media.json", "17918195224117851", None),
])
def test_instagram_mentions_are_stored_flagged_and_queued_for_their_text(
        poster: PlatformPoster, session: Session, sample: str, external_id: str, in_reply_to: str | None) -> None:
    ref = poster.sample("fb", sample).json()["cases"][0]
    [m] = stored(session, "fb")
    assert (m.external_id, m.channel, m.text, m.in_reply_to) == (external_id, "instagram", "", in_reply_to)
    assert m.extra is not None and m.extra["enrichment"] == {"kind": "instagram_mention", "state": "pending"}
    assert m.extra["account_id"] == "17841405726653026"
    job = session.scalar(select(MentionEnrichment).where(MentionEnrichment.mention_id == m.id))
    assert job is not None and job.status == "pending"
    assert ref.startswith("WC-")


def test_messenger_message_is_private(poster: PlatformPoster, session: Session) -> None:
    poster.sample("fb", "messenger_message.json")
    [m] = stored(session, "fb")
    assert (m.external_id, m.channel, m.text, m.is_private) == \
        ("mid.1457764197618:41d102a3e1ae206a38", "messenger", "hello, world!", True)
    assert (m.author_id, m.conversation_id) == ("<PSID>", "<PAGE_ID>:<PSID>")
    assert m.posted_at is not None and m.posted_at.isoformat() == "2016-03-23T00:25:52.478000+00:00"
    assert m.extra is not None and m.extra["quick_reply"] == {"payload": "<DEVELOPER_DEFINED_PAYLOAD>"}


def test_whatsapp_message_and_the_ad_referral(poster: PlatformPoster, session: Session) -> None:
    poster.sample("wa", "whatsapp_message.json")
    poster.sample("wa", "whatsapp_message_ctwa_referral.json")
    first, second = stored(session, "wa")
    assert (first.channel, first.text, first.is_private) == ("whatsapp", "Does it come in another color?", True)
    assert first.external_id == "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
    assert (first.author_id, first.author_name, first.author_handle) == ("16505551234", "Sheena Nelson",
                                                                         "+16505551234")
    assert first.conversation_id == "106540352242922:16505551234"
    assert first.posted_at is not None and first.posted_at.isoformat() == "2025-06-08T20:59:43+00:00"
    assert second.text == "Can I get more info about this?"
    assert second.extra is not None and second.extra["referral"]["source_id"] == "120226305854810726"
    assert second.extra["referral"]["ctwa_clid"].startswith("Aff-n8ZTODiE79d22")
    assert second.case_id == first.case_id  # same chat


def test_x_long_post_takes_the_full_text_and_id_str(poster: PlatformPoster, session: Session) -> None:
    poster.sample("xx", "x_tweet_create_events.json")
    [m] = stored(session, "xx")
    assert m.external_id == "1924465506158878979"  # not the float-rounded numeric id
    assert m.text.endswith("off the Greek island of Antikythera...") and "…" not in m.text
    assert (m.author_id, m.author_handle, m.author_name, m.author_followers, m.author_verified) == \
        ("2244994945", "@XDevelopers", "X Dev", 512292, True)
    assert m.url == "https://x.com/XDevelopers/status/1924465506158878979"
    assert m.posted_at is not None and m.posted_at.isoformat() == "2025-05-19T14:01:46+00:00"
    assert m.is_private is False


def test_x_direct_message(poster: PlatformPoster, session: Session) -> None:
    poster.sample("xx", "x_direct_message_events.json")
    [m] = stored(session, "xx")
    assert (m.external_id, m.text, m.is_private, m.conversation_id) == \
        ("954491830116155396", "Hello World!", True, "3001969357-4337869213")
    assert (m.author_id, m.author_handle, m.author_name, m.author_followers) == \
        ("3001969357", "@furiouscamper", "Jordan Brinks", 22)


def test_telegram_edit_of_an_unseen_message_is_stored(poster: PlatformPoster, session: Session) -> None:
    poster.sample("tg", "telegram_edited_message.json")
    [m] = stored(session, "tg")
    assert (m.external_id, m.channel, m.text, m.is_private, m.conversation_id) == \
        ("1111111:1365", "telegram", "Edited text", True, "1111111")
    assert (m.author_id, m.author_handle, m.author_name) == ("1111111", "@Testusername",
                                                             "Test Firstname Test Lastname")


def _tweet(tweet_id: str, text: str, *, user_id: str = "42", **extra: object) -> dict[str, object]:
    return {"id_str": tweet_id, "text": text, "created_at": "Mon May 19 14:01:46 +0000 2025",
            "user": {"id_str": user_id, "screen_name": "klant", "name": "Klant", "followers_count": 3}, **extra}


def test_own_posts_retweets_and_other_x_events_are_ignored(poster: PlatformPoster, session: Session) -> None:
    body = {"for_user_id": "99", "tweet_create_events": [
        _tweet("1", "our own announcement", user_id="99"),
        _tweet("2", "RT @telco: storing", retweeted_status={"id_str": "1"}),
        _tweet("3", "Geen internet in Delft, wat is er aan de hand?"),
    ], "favorite_events": [{"id": "f1"}, {"id": "f2"}]}
    result = poster.post("xx", json.dumps(body).encode()).json()
    assert (result["accepted"], result["ignored"]) == (1, 4)
    [m] = stored(session, "xx")
    assert (m.external_id, m.language) == ("3", "nl")
    with_retweets = poster.post("xr", json.dumps(body).encode()).json()
    assert (with_retweets["accepted"], with_retweets["ignored"]) == (2, 3)


def test_whatsapp_statuses_are_ignored_each(poster: PlatformPoster) -> None:
    body = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"phone_number_id": "5"},
        "statuses": [{"id": "wamid.a", "status": "delivered"}, {"id": "wamid.a", "status": "read"}]}}]}]}
    result = poster.post("wa", json.dumps(body).encode()).json()
    assert (result["accepted"], result["ignored"]) == (0, 2)


def test_a_batch_takes_every_entry_and_every_event(poster: PlatformPoster, session: Session) -> None:
    event = json.loads((SAMPLES / "messenger_message.json").read_bytes())["entry"][0]["messaging"][0]
    second = {**event, "message": {**event["message"], "mid": "m2", "text": "second"}}
    echo = {**event, "message": {"mid": "m3", "text": "our answer", "is_echo": True}}
    read = {"sender": {"id": "<PSID>"}, "recipient": {"id": "<PAGE_ID>"}, "read": {"watermark": 1}}
    body = {"object": "page", "entry": [
        {"id": "<PAGE_ID>", "time": 1, "messaging": [event, second]},
        {"id": "<PAGE_ID>", "time": 2, "messaging": [echo, read]},
    ]}
    result = poster.post("fb", json.dumps(body).encode()).json()
    assert (result["accepted"], result["ignored"]) == (2, 2)
    assert [m.text for m in stored(session, "fb")] == ["hello, world!", "second"]
    assert len(result["cases"]) == 1  # one conversation


def test_an_edit_updates_the_mention_keeps_the_old_text_in_the_timeline_and_opens_no_case(
        poster: PlatformPoster, session: Session, api: ApiClient) -> None:
    message = json.loads((SAMPLES / "telegram_edited_message.json").read_bytes())["edited_message"]
    original = {"update_id": 1, "message": {**message, "text": "Mijn internet is stuk"}}
    ref = poster.post("tg", json.dumps(original).encode()).json()["cases"][0]
    cases_before = count(session, Case)
    edit = poster.post("tg", json.dumps({"update_id": 2, "edited_message": {
        **message, "text": "Mijn internet en tv zijn stuk"}}).encode()).json()
    assert (edit["accepted"], edit["updated"], edit["duplicates"], edit["cases"]) == (0, 1, 0, [])
    assert count(session, Case) == cases_before
    case = api.get(f"/api/v1/cases/{ref}").json()
    [mention] = case["mentions"]
    assert mention["text"] == "Mijn internet en tv zijn stuk"
    edited = [e for e in case["timeline"] if e["type"] == "mention_edited"]
    assert edited[0]["data"]["previous_text"] == "Mijn internet is stuk"
    assert edited[0]["actor_type"] == "customer"
    again = poster.post("tg", json.dumps({"update_id": 2, "edited_message": {
        **message, "text": "Mijn internet en tv zijn stuk"}}).encode()).json()
    assert (again["updated"], again["duplicates"]) == (0, 1)


def test_a_removed_comment_is_marked_removed(poster: PlatformPoster, session: Session, api: ApiClient) -> None:
    value = {"item": "comment", "verb": "add", "comment_id": "10_20", "post_id": "7_10", "parent_id": "7_10",
             "from": {"id": "555", "name": "Jan"}, "created_time": 1700000000, "message": "Waar blijft de monteur?"}
    add = {"object": "page", "entry": [{"id": "7", "time": 1, "changes": [{"field": "feed", "value": value}]}]}
    ref = poster.post("fb", json.dumps(add).encode()).json()["cases"][0]
    [m] = stored(session, "fb")
    assert (m.in_reply_to, m.url) == ("7_10", "https://www.facebook.com/7_10?comment_id=20")
    remove = {"object": "page", "entry": [{"id": "7", "time": 2, "changes": [{"field": "feed", "value": {
        "item": "comment", "verb": "remove", "comment_id": "10_20", "post_id": "7_10", "from": {"id": "555"},
        "created_time": 1700000100}}]}]}
    result = poster.post("fb", json.dumps(remove).encode()).json()
    assert (result["updated"], result["accepted"]) == (1, 0)
    case = api.get(f"/api/v1/cases/{ref}").json()
    assert case["mentions"][0]["removed_at"] == "2023-11-14T22:15:00Z"
    assert "mention_removed" in [e["type"] for e in case["timeline"]]
    assert poster.post("fb", json.dumps(remove).encode()).json()["duplicates"] == 1
    never_seen = json.loads(json.dumps(remove).replace("10_20", "10_99"))
    assert poster.post("fb", json.dumps(never_seen).encode()).json()["ignored"] == 1


def test_x_deleted_post_is_marked_removed(poster: PlatformPoster, session: Session) -> None:
    poster.post("xx", json.dumps({"for_user_id": "99", "tweet_create_events": [_tweet("7", "slecht bereik")]}).encode())
    result = poster.post("xx", json.dumps({"for_user_id": "99", "tweet_delete_events": [
        {"status": {"id": "7", "user_id": "42"}, "timestamp_ms": "1700000000000"}]}).encode()).json()
    assert result["updated"] == 1
    [m] = stored(session, "xx")
    assert m.removed_at is not None


# -- signatures, handshakes, dead letters ---------------------------------------------------------

@pytest.mark.parametrize("connector", ["fb", "wa", "xx", "tg"])
def test_unsigned_or_wrongly_signed_bodies_are_401_and_stored_nowhere(
        poster: PlatformPoster, session: Session, connector: str) -> None:
    sample = {"fb": "messenger_message.json", "wa": "whatsapp_message.json", "xx": "x_direct_message_events.json",
              "tg": "telegram_edited_message.json"}[connector]
    body = (SAMPLES / sample).read_bytes()
    good = poster.headers(connector, body)
    if connector != "tg":  # Telegram signs nothing: only its secret-token header is checked
        tampered = bytearray(body)
        tampered[len(body) // 2] ^= 0x01
        assert poster.post(connector, bytes(tampered), headers=good).status_code == 401
    unsigned = poster.post(connector, body, headers={})
    assert unsigned.status_code == 401
    assert unsigned.json()["type"].endswith("/invalid-signature")
    wrong = {k: v[:-2] + ("00" if not v.endswith("00") else "11") for k, v in good.items()}
    assert poster.post(connector, body, headers=wrong).status_code == 401
    assert (count(session, StoredMention), count(session, InboundDeadLetter)) == (0, 0)


def test_meta_signature_is_over_the_raw_bytes_as_received(poster: PlatformPoster, session: Session) -> None:
    body = (b'{"object":"page","entry":[{"id":"1","time":1,"messaging":[{"sender":{"id":"2"},"recipient":{"id":"1"},'
            b'"timestamp":1,"message":{"mid":"m.u","text":"caf\\u00e9 \\u2615 storing"}}]}]}')
    assert poster.post("fb", body).json()["accepted"] == 1
    [m] = stored(session, "fb")
    assert m.text == "café ☕ storing"
    reserialised = json.dumps(json.loads(body), ensure_ascii=False).encode()
    response = poster.post("fb", reserialised, headers={"x-hub-signature-256": hub_signature(poster.meta_secret, body)})
    assert response.status_code == 401


def test_meta_handshake(client: TestClient, app) -> None:  # type: ignore[no-untyped-def]
    token = app.state.secrets.get("TEST_META_VERIFY_TOKEN")
    ok = client.get("/webhooks/fb", params={"hub.mode": "subscribe", "hub.verify_token": token,
                                            "hub.challenge": "1158201444"})
    assert (ok.status_code, ok.text) == (200, "1158201444")
    assert ok.headers["content-type"].startswith("text/plain")
    wa = client.get("/webhooks/wa", params={"hub.mode": "subscribe", "hub.verify_token": token,
                                            "hub.challenge": "abc-XYZ"})
    assert (wa.status_code, wa.text) == (200, "abc-XYZ")
    wrong = client.get("/webhooks/fb", params={"hub.mode": "subscribe", "hub.verify_token": token + "x",
                                               "hub.challenge": "1"})
    assert wrong.status_code == 403
    assert client.get("/webhooks/fb", params={"hub.mode": "unsubscribe", "hub.verify_token": token,
                                              "hub.challenge": "1"}).status_code == 403
    assert client.get("/webhooks/nope", params={"hub.challenge": "1"}).status_code == 404


def test_x_crc(client: TestClient, app) -> None:  # type: ignore[no-untyped-def]
    import base64
    import hashlib
    import hmac

    secret = app.state.secrets.get("TEST_X_CONSUMER_SECRET")
    response = client.get("/webhooks/xx", params={"crc_token": "challenge-123"})
    expected = base64.b64encode(hmac.new(secret.encode(), b"challenge-123", hashlib.sha256).digest()).decode()
    assert response.status_code == 200
    assert response.json() == {"response_token": "sha256=" + expected}
    assert client.get("/webhooks/xx").status_code == 400
    assert client.get("/webhooks/tg").status_code == 405


def test_an_authentic_body_that_does_not_parse_is_a_dead_letter_and_stays_one_until_it_parses(
        poster: PlatformPoster, session: Session, client: TestClient, sessions) -> None:  # type: ignore[no-untyped-def]
    good = json.loads((SAMPLES / "messenger_message.json").read_bytes())
    broken_event = {"sender": {"id": "<PSID>"}, "recipient": {"id": "<PAGE_ID>"}, "timestamp": 1,
                    "message": {"text": "no mid here"}}
    good["entry"][0]["messaging"].append(broken_event)
    body = json.dumps(good).encode()
    result = poster.post("fb", body).json()
    assert (result["accepted"], result["dead_lettered"]) == (1, 1)
    not_json = poster.post("wa", b"{not json").json()
    assert (not_json["accepted"], not_json["dead_lettered"]) == (0, 1)
    assert count(session, InboundDeadLetter) == 2

    ops = ApiClient(client, make_user_token(sessions, "ops-olga", "ops"))
    agent = ApiClient(client, make_user_token(sessions, "agent-bo", "agent"))
    assert agent.get("/api/v1/inbound/dead-letters").status_code == 403
    listing = ops.get("/api/v1/inbound/dead-letters", params={"connector": "fb"}).json()
    [letter] = listing["items"]
    assert letter["status"] == "pending" and "messaging[1]" in letter["error"] and "message.mid" in letter["error"]
    assert letter["body"].encode() == body and letter["body_encoding"] == "utf-8"
    assert listing["next_cursor"] is None

    again = ops.post(f"/api/v1/inbound/dead-letters/{letter['id']}/replay").json()
    assert again["dead_letter"]["status"] == "pending" and again["dead_letter"]["replays"] == 1
    assert (again["result"]["accepted"], again["result"]["duplicates"], again["result"]["dead_lettered"]) == (0, 1, 1)


def test_replay_after_a_fix_ingests_what_the_broken_adapter_could_not(
        poster: PlatformPoster, session: Session, client: TestClient, sessions,  # type: ignore[no-untyped-def]
        monkeypatch: pytest.MonkeyPatch) -> None:
    import app.ingest.routes as routes
    from app.ingest.adapters import Parsed

    # A release whose adapter fails on WhatsApp bodies: the authentic body is kept, answered 200.
    monkeypatch.setattr(routes, "parse_platform_body", lambda _c, _b: Parsed(failures=["body: KeyError 'entry'"]))
    result = poster.sample("wa", "whatsapp_message.json").json()
    assert (result["accepted"], result["dead_lettered"]) == (0, 1)
    assert count(session, StoredMention) == 0
    monkeypatch.undo()  # the fix is deployed

    ops = ApiClient(client, make_user_token(sessions, "ops-olga", "ops"))
    [letter] = ops.get("/api/v1/inbound/dead-letters", params={"status": "pending"}).json()["items"]
    replayed = ops.post(f"/api/v1/inbound/dead-letters/{letter['id']}/replay").json()
    assert replayed["dead_letter"]["status"] == "replayed" and replayed["dead_letter"]["replayed_at"]
    assert (replayed["result"]["accepted"], replayed["result"]["dead_lettered"]) == (1, 0)
    [m] = stored(session, "wa")
    assert m.text == "Does it come in another color?"
    assert ops.post(f"/api/v1/inbound/dead-letters/{letter['id']}/replay").status_code == 409
    assert ops.get("/api/v1/inbound/dead-letters", params={"status": "pending"}).json()["items"] == []
    [entry] = audited(ops, "dead_letter.replayed")  # the refused second replay left no entry
    assert (entry["actor"], entry["target"]) == ("ops-olga", f"dead_letter:{letter['id']}")
    assert entry["details"] == {"connector": "wa", "replayed": True, "accepted": 1, "via": "api"}


def test_a_replayed_mention_counts_in_the_rule_hits(
        poster: PlatformPoster, session: Session, client: TestClient, sessions,  # type: ignore[no-untyped-def]
        monkeypatch: pytest.MonkeyPatch) -> None:
    import app.ingest.routes as routes
    from app.ingest.adapters import Parsed

    body = json.loads((SAMPLES / "whatsapp_message.json").read_bytes())
    body["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] = "Al 3 uur STORING, geen internet"
    monkeypatch.setattr(routes, "parse_platform_body", lambda _c, _b: Parsed(failures=["body: KeyError 'entry'"]))
    assert poster.post("wa", json.dumps(body).encode()).json()["dead_lettered"] == 1
    monkeypatch.undo()
    ops = ApiClient(client, make_user_token(sessions, "ops-olga", "ops"))
    [letter] = ops.get("/api/v1/inbound/dead-letters", params={"status": "pending"}).json()["items"]
    assert ops.post(f"/api/v1/inbound/dead-letters/{letter['id']}/replay").json()["result"]["accepted"] == 1
    session.expire_all()
    assert {rule: count for rule, (count, _) in read_hits(session).items()} == {"outage": HitCount(1, 1)}
