"""Input that used to answer 500 (which platforms retry forever) answers a 4xx problem naming the
field, on SQLite and PostgreSQL alike: NUL characters (PostgreSQL refuses them in text, SQLite
stores them: the service refuses them at the edge on both), JSON nested too deep, numbers past the
columns' range, bodies that are not JSON. An authentic platform body that cannot be stored is kept
as an inbound dead letter and answered 200."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.cases.queries import encode_cursor
from app.ingest.models import InboundDeadLetter
from app.kernel.clock import utc_now
from app.mentions.stored import StoredMention
from tests.conftest import BASIC_RULES
from tests.ingest.platform_support import SAMPLES, PlatformPoster, platform_rules
from tests.support import ApiClient, Signer, make_user_token, mention, post_mentions

NUL = "a\x00b"
HUGE = "9" * 23


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    return platform_rules(BASIC_RULES, tmp_path / "rules")


@pytest.fixture
def ops(client: TestClient, sessions: sessionmaker[Session]) -> ApiClient:
    return ApiClient(client, make_user_token(sessions, "ops-olga", "ops"))


@pytest.fixture
def ref(client: TestClient, signer: Signer) -> str:
    return str(post_mentions(client, signer, mention("mijn factuur is te hoog")).json()["cases"][0])


def assert_problem(response, status: int | tuple[int, ...], field: str | None) -> None:  # type: ignore[no-untyped-def]
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/problem+json", response.text
    if field is not None:
        fields = [e["field"] for e in response.json().get("errors", [])]
        assert field in fields, response.json()


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(("path", "param"), [
    ("/api/v1/cases", "department"), ("/api/v1/cases", "channel"), ("/api/v1/cases", "tag"),
    ("/api/v1/cases", "q"), ("/api/v1/cases", "assignee"), ("/api/v1/deliveries", "type"),
    ("/api/v1/deliveries", "department"), ("/api/v1/deliveries", "case"),
    ("/api/v1/inbound/dead-letters", "connector"), ("/api/v1/events", "department"),
])
def test_nul_in_a_query_filter_is_422_naming_it(ops: ApiClient, path: str, param: str) -> None:
    assert_problem(ops.get(path, params={param: NUL}), 422, param)


@pytest.mark.parametrize(("action", "body", "field"), [
    ("notes", {"text": NUL}, "text"), ("respond", {"text": NUL, "send": False}, "text"),
    ("close", {"reason": NUL}, "reason"), ("assign", {"user": NUL}, "user"),
    ("handoff", {"department": "billing", "reason": NUL}, "reason"),
])
def test_nul_in_an_action_body_is_422_naming_it(api: ApiClient, ref: str, action: str, body: dict[str, Any],
                                                  field: str) -> None:
    assert_problem(api.post(f"/api/v1/cases/{ref}/{action}", json=body), 422, field)
    assert api.get(f"/api/v1/cases/{ref}").status_code == 200  # the session is still usable


@pytest.mark.parametrize("body", [b"\xff\xfe not utf-8", b"[" * 10_000 + b"]" * 10_000,
                                  b'{"text": ' * 5000 + b'"x"' + b"}" * 5000, b"not json"])
def test_a_body_that_is_not_json_is_422(api: ApiClient, ref: str, body: bytes) -> None:
    response = api.post(f"/api/v1/cases/{ref}/notes", content=body, headers={"content-type": "application/json"})
    assert_problem(response, 422, None)


@pytest.mark.parametrize(("path", "params", "field"), [
    ("/api/v1/cases", {"due_within": "99999999999d"}, "due_within"),
    ("/api/v1/cases", {"cursor": encode_cursor(utc_now(), 10**30)}, "cursor"),
    ("/api/v1/cases", {"cursor": encode_cursor(None, 10**30), "sort": "due"}, "cursor"),
    ("/api/v1/deliveries", {"cursor": b64("d" + HUGE)}, "cursor"),
    ("/api/v1/events", {"cursor": b64("e" + HUGE), "department": "billing"}, "cursor"),
    ("/api/v1/inbound/dead-letters", {"cursor": HUGE}, "cursor"),
])
def test_numbers_past_the_columns_range_in_queries(ops: ApiClient, path: str, params: dict[str, str],
                                                   field: str) -> None:
    assert_problem(ops.get(path, params=params), 422, field)


def test_numbers_past_the_columns_range_in_paths(ops: ApiClient) -> None:
    assert_problem(ops.get(f"/api/v1/cases/WC-{HUGE}"), 404, None)
    assert_problem(ops.post(f"/api/v1/cases/WC-{HUGE}/notes", json={"text": "x"}), 404, None)
    assert_problem(ops.post("/api/v1/cases/WC-000001/merge", json={"into": f"WC-{HUGE}"}), (404, 409, 422), None)
    assert_problem(ops.post(f"/api/v1/deliveries/{HUGE}/redeliver"), 422, "delivery_id")
    assert_problem(ops.post(f"/api/v1/inbound/dead-letters/{HUGE}/replay"), 422, "letter_id")


@pytest.mark.parametrize(("where", "field"), [
    ({"text": NUL}, "text"), ({"id": NUL}, "id"), ({"author": {"handle": "@" + NUL}}, "author.handle"),
    ({"extra": {"k": NUL}}, "extra.k"),
])
def test_nul_in_a_standard_mention_is_422_naming_the_field_and_stores_nothing(
        client: TestClient, signer: Signer, session: Session, where: dict[str, Any], field: str) -> None:
    response = post_mentions(client, signer, {"mentions": [mention("ok"), {**mention("storing"), **where}]})
    assert_problem(response, 422, f"mentions[1].{field}")
    assert count(session, StoredMention) == 0


def test_standard_body_nested_too_deep_is_422(client: TestClient, signer: Signer) -> None:
    for body in (b"[" * 10_000 + b"]" * 10_000, json.dumps(mention("x", extra={"k": [[[[[[[[[[[]]]]]]]]]]]})).encode()
                 .replace(b"[]", b"[" * 5000 + b"]" * 5000)):
        response = client.post("/webhooks/listening-tool", content=body, headers=signer.headers(body))
        assert_problem(response, 422, None)


@pytest.mark.parametrize("connector", ["tg", "wa", "xx", "fb"])
def test_platform_bodies_that_cannot_be_stored_are_dead_letters_answered_200(
        client: TestClient, app, session: Session, connector: str) -> None:  # type: ignore[no-untyped-def]
    store = app.state.secrets
    poster = PlatformPoster(client, store.get("TEST_META_APP_SECRET"), store.get("TEST_X_CONSUMER_SECRET"),
                            store.get("TEST_TELEGRAM_SECRET"))
    sample = {"tg": "telegram_edited_message.json", "wa": "whatsapp_message.json",
              "xx": "x_direct_message_events.json", "fb": "messenger_message.json"}[connector]
    nul_text = re.sub(rb'"(text|body)"\s*:\s*"', rb'"\1": "\\u0000', (SAMPLES / sample).read_bytes(), count=1)
    assert nul_text != (SAMPLES / sample).read_bytes()
    for body in (nul_text, b"[" * 10_000 + b"]" * 10_000):
        response = poster.post(connector, body)
        assert response.status_code == 200, response.text
        assert response.json()["dead_lettered"] == 1 and response.json()["accepted"] == 0
    assert (count(session, StoredMention), count(session, InboundDeadLetter)) == (0, 2)
