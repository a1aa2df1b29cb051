"""No secret reaches a log: replies through each platform (respx) logged at DEBUG, failures
included, show no token, app secret, verify token or webhook secret, and no request URL."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import respx
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.kernel.clock import utc_now
from app.observability import JsonFormatter, mask_secrets, register_secret
from app.replies.sender import ReplySender
from app.replies.targets import Bases
from app.secrets import SecretStore
from tests.conftest import BASIC_RULES
from tests.ingest.platform_support import PlatformPoster, feed_post_with_ids, platform_rules
from tests.support import ApiClient

GRAPH, X, TG = "https://graph.test/v21.0", "https://x.test", "https://tg.test"
TOKENS = {
    "TEST_META_PAGE_TOKEN": "EAAG-page-token-9f3k",
    "TEST_WHATSAPP_TOKEN": "EAAG-wa-token-77qq",
    "TEST_X_TOKEN": "x-user-token-a1b2c3",
    "TEST_TELEGRAM_BOT_TOKEN": "7301234567:AAE-tg-bot-token",
}
# One case per reply method: (connector, sample; None: a Facebook Page post).
THROUGH = [("fb", None), ("fb", "messenger_message.json"), ("fb", "instagram_comment.json"),
           ("wa", "whatsapp_message.json"), ("xx", "x_tweet_create_events.json"),
           ("xx", "x_direct_message_events.json"), ("tg", "telegram_edited_message.json")]


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    return platform_rules(BASIC_RULES, tmp_path / "rules")


def refused_then_answered(request: httpx.Request) -> httpx.Response:
    if not getattr(refused_then_answered, "refused", set()) >= {str(request.url)}:
        refused_then_answered.refused = {*getattr(refused_then_answered, "refused", set()), str(request.url)}  # type: ignore[attr-defined]
        raise httpx.ConnectError(f"connection refused for {request.url}", request=request)
    if request.url.host == "tg.test":
        return httpx.Response(200, json={"ok": True, "result": {"message_id": 9}})
    if request.url.host == "x.test":
        return httpx.Response(201, json={"data": {"id": "5", "dm_event_id": "6"}})
    return httpx.Response(200, json={"id": "7", "message_id": "8", "messages": [{"id": "9"}]})


def test_replies_through_every_platform_log_no_secret(
        client: TestClient, app, sessions: sessionmaker[Session], session: Session, api: ApiClient,  # type: ignore[no-untyped-def]
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    store = app.state.secrets
    poster = PlatformPoster(client, store.get("TEST_META_APP_SECRET"), store.get("TEST_X_CONSUMER_SECRET"),
                            store.get("TEST_TELEGRAM_SECRET"))
    for connector, sample in THROUGH:
        delivered = poster.sample(connector, sample) if sample else poster.post(connector, feed_post_with_ids())
        ref = delivered.json()["cases"][0]
        response = api.post(f"/api/v1/cases/{ref}/respond", json={"text": "We kijken ernaar", "send": True})
        assert response.status_code == 200, response.text
    worker = ReplySender(sessions, app.state.rules, SecretStore(production=False, var_dir=tmp_path / "s",
                                                                environ=TOKENS),
                         worker_id="w1", client=httpx.AsyncClient(), bases=Bases(graph=GRAPH, x=X, telegram=TG),
                         timeout=1, lease_seconds=30, retry_seconds=1)
    with respx.mock() as mock:
        mock.route(host__in=["graph.test", "x.test", "tg.test"]).mock(side_effect=refused_then_answered)
        asyncio.run(worker.run_once(utc_now()))
        asyncio.run(worker.run_once(utc_now() + timedelta(minutes=5)))
        assert {call.request.url.host for call in mock.calls} == {"graph.test", "x.test", "tg.test"}
        assert any("/bot7301234567:AAE-tg-bot-token/" in str(call.request.url) for call in mock.calls)

    secrets = [*TOKENS.values(), *(store.get(name) for name in (
        "TEST_META_APP_SECRET", "TEST_META_VERIFY_TOKEN", "TEST_X_CONSUMER_SECRET", "TEST_TELEGRAM_SECRET",
        "TEST_LISTENING_SECRET"))]
    formatted = [JsonFormatter().format(record) for record in caplog.records]
    assert caplog.records, "nothing was logged: the test would prove nothing"
    for secret in secrets:
        assert secret not in caplog.text
        assert not [line for line in formatted if secret in line]
    assert not [r for r in caplog.records if r.name.startswith(("httpx", "httpcore"))]  # no request URLs


def test_every_registered_secret_is_masked_wherever_it_appears(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    register_secret("db-pass/w0rd")
    log = logging.getLogger("tests.masking")
    log.info("connecting with %s", "db-pass/w0rd")
    log.info("url postgresql://u:db-pass%2Fw0rd@h/db", extra={"detail": "token db-pass/w0rd"})
    try:
        raise RuntimeError("failed with db-pass/w0rd")
    except RuntimeError:
        log.exception("oops")
    assert "db-pass" not in caplog.text
    for record in caplog.records:
        line = JsonFormatter().format(record)
        assert "db-pass" not in line and "[secret]" in line, line
    assert mask_secrets('{"token": "db-pass/w0rd"}') == '{"token": "[secret]"}'
    assert json.loads(JsonFormatter().format(caplog.records[1]))["detail"] == "token [secret]"
