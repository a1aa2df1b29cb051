"""The X challenge-response check (CRC) answers only the tokens X sends, so that it can never be
used to sign a body: CRC answers and POST signatures are the same HMAC under the same secret."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.cases.models import Case
from app.ingest.models import InboundDeadLetter
from app.ingest.verification import VerificationError, verify_x_signature, x_signature
from app.mentions.stored import StoredMention
from tests.conftest import BASIC_RULES
from tests.ingest.platform_support import platform_rules


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    return platform_rules(BASIC_RULES, tmp_path / "rules")


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


FORGED = {"for_user_id": "1", "tweet_create_events": [{
    "id_str": "999", "text": "Refund me now or I sue", "created_at": "Mon Mar 02 09:15:00 +0000 2026",
    "user": {"id_str": "77", "screen_name": "ceo", "name": "The CEO", "verified": True, "followers_count": 10**7}}]}


@pytest.mark.parametrize("body", [
    json.dumps(FORGED, separators=(",", ":")),
    json.dumps(FORGED),
    "12345",  # a bare JSON number is base64-shaped, but would only ever become a dead letter
])
def test_a_body_sent_as_crc_token_is_not_signed_and_cannot_be_posted(
        client: TestClient, session: Session, body: str) -> None:
    answer = client.get("/webhooks/xx", params={"crc_token": body})
    # The attack: the CRC answer used as the signature of a POST of the same bytes.
    stolen = answer.json().get("response_token", "sha256=") if answer.status_code == 200 else "sha256="
    forged = client.post("/webhooks/xx", content=body.encode(), headers={
        "content-type": "application/json", "x-twitter-webhooks-signature": stolen})
    assert (answer.status_code, forged.status_code) == (400, 401), (answer.text, forged.text)
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert "response_token" not in problem and problem["errors"][0]["field"] == "crc_token"
    assert (count(session, StoredMention), count(session, Case), count(session, InboundDeadLetter)) == (0, 0, 0)


@pytest.mark.parametrize("token", ["", "a" * 129, "abc def", "abc%00", "ab=c", "a==="])
def test_tokens_not_shaped_as_x_sends_them_are_400(client: TestClient, token: str) -> None:
    answer = client.get("/webhooks/xx", params={"crc_token": token})
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == "crc_token"


def test_the_tokens_x_sends_are_answered(client: TestClient, app) -> None:  # type: ignore[no-untyped-def]
    secret = app.state.secrets.get("TEST_X_CONSUMER_SECRET")
    for token in ("NjQ1NzM0NjctMjc2Ny00MzFjLWE0ZjQtMWJjZDg0ZmI3YzRh", "ab+/cd==", "ab-_cd", "challenge-123"):
        answer = client.get("/webhooks/xx", params={"crc_token": token, "nonce": "MTU2MjM0"})
        assert answer.status_code == 200, token
        assert answer.json() == {"response_token": x_signature(secret, token.encode())}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)


def parses_as_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


@st.composite
def json_bodies(draw: st.DrawFn) -> str:
    value = draw(json_values)
    separators = draw(st.sampled_from([(",", ":"), (", ", ": ")]))
    return json.dumps(value, separators=separators, ensure_ascii=draw(st.booleans()))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), body=json_bodies() | st.text(alphabet="0123456789eE+-.", min_size=1, max_size=30)
       .filter(parses_as_json))
def test_no_crc_answer_ever_verifies_as_the_signature_of_a_json_body(
        client: TestClient, app, data: st.DataObject, body: str) -> None:  # type: ignore[no-untyped-def]
    secret = app.state.secrets.get("TEST_X_CONSUMER_SECRET")
    token = data.draw(st.just(body) | st.text(max_size=60)
                      | st.text(alphabet="ABCxyz019+/_-=", min_size=1, max_size=60), label="crc_token")
    answer = client.get("/webhooks/xx", params={"crc_token": token})
    # 400: not shaped as X sends it; 422: a NUL character, refused before any route runs
    assert answer.status_code in (200, 400, 422), answer.text
    if answer.status_code != 200:
        assert "response_token" not in answer.json()
        return
    assert not parses_as_json(token)
    with pytest.raises(VerificationError):
        verify_x_signature(secret, {"x-twitter-webhooks-signature": answer.json()["response_token"]}, body.encode())
