"""POST /webhooks/{connector} for the `standard` kind, through the real app and database."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.cases.models import Case, CaseEvent
from app.mentions.stored import StoredMention
from tests.support import ApiClient, Signer, mention, post_mentions


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_mention_becomes_a_case_routed_by_the_rules(client: TestClient, signer: Signer, api: ApiClient) -> None:
    response = post_mentions(client, signer, mention("Al 3 uur STORING bij jullie!!", id="t-1",
                                                     author={"handle": "@jan", "followers": 120}))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {"accepted": 1, "duplicates": 0, "updated": 0, "ignored": 0, "dead_lettered": 0,
                    "cases": [body["cases"][0]]}
    ref = body["cases"][0]
    assert ref.startswith("WC-") and len(ref) >= 9
    case = api.get(f"/api/v1/cases/{ref}").json()
    assert case["department"] == "network"
    assert case["status"] == "pending_department"
    assert case["priority"] == "P2" and case["category"] == "outage" and case["sla_policy"] == "urgent"
    assert case["tags"] == ["outage"]
    assert case["routing"]["rule_ids"] == ["outage"]
    assert case["routing"]["deciding_rule"] == "outage"
    assert case["routing"]["ruleset_version"].startswith("rs-")
    span = case["routing"]["spans"][0]
    assert "Al 3 uur STORING bij jullie!!"[span["start"]:span["end"]] == "STORING"
    assert [e["type"] for e in case["timeline"]] == ["created", "handed_off"]
    assert case["mentions"][0]["text"] == "Al 3 uur STORING bij jullie!!"
    assert case["mentions"][0]["received_at"].endswith("Z")


def test_triage_cases_stay_open_with_webcare(client: TestClient, signer: Signer, api: ApiClient) -> None:
    ref = post_mentions(client, signer, mention("Hoe laat zijn jullie open?")).json()["cases"][0]
    case = api.get(f"/api/v1/cases/{ref}").json()
    assert (case["department"], case["status"], case["routing"]["deciding_rule"]) == ("webcare", "open", None)
    assert [e["type"] for e in case["timeline"]] == ["created"]


def test_the_same_delivery_again_changes_nothing(client: TestClient, signer: Signer, session: Session) -> None:
    payload = {"mentions": [mention("factuur klopt niet", id="d-1"), mention("storing", id="d-2")]}
    first = post_mentions(client, signer, payload).json()
    assert (first["accepted"], first["duplicates"]) == (2, 0)
    before = (count(session, StoredMention), count(session, Case), count(session, CaseEvent))
    second = post_mentions(client, signer, payload).json()
    assert (second["accepted"], second["duplicates"], second["cases"]) == (0, 2, [])
    assert (count(session, StoredMention), count(session, Case), count(session, CaseEvent)) == before


def test_a_repeat_inside_one_batch_is_a_duplicate(client: TestClient, signer: Signer) -> None:
    body = post_mentions(client, signer, {"mentions": [mention("a", id="same"), mention("a", id="same")]}).json()
    assert (body["accepted"], body["duplicates"]) == (1, 1)


def test_a_bad_signature_is_401_and_stores_nothing(client: TestClient, signer: Signer, session: Session) -> None:
    body = json.dumps(mention("storing", id="forged")).encode()
    headers = signer.headers(body)
    tampered = body.replace(b"storing", b"Storing")
    response = client.post("/webhooks/listening-tool", content=tampered, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/invalid-signature")
    stale = client.post("/webhooks/listening-tool", content=body,
                        headers=signer.headers(body, timestamp=int(time.time()) - 600))
    assert stale.status_code == 401
    unsigned = client.post("/webhooks/listening-tool", content=body, headers={"content-type": "application/json"})
    assert unsigned.status_code == 401
    assert count(session, StoredMention) == 0 and count(session, Case) == 0


def test_another_connectors_secret_does_not_verify(client: TestClient, session: Session) -> None:
    import base64

    other = Signer("whsec_" + base64.b64encode(b"k" * 32).decode())
    assert post_mentions(client, other, mention("storing")).status_code == 401
    assert count(session, StoredMention) == 0


def test_unknown_connector_is_404(client: TestClient, signer: Signer) -> None:
    response = post_mentions(client, signer, mention("hoi"), connector="nope")
    assert response.status_code == 404
    assert response.json()["type"].endswith("/unknown-connector")


def test_a_body_that_breaks_the_format_is_422_naming_each_field(client: TestClient, signer: Signer,
                                                               session: Session) -> None:
    payload = {"mentions": [mention("ok"), {"id": "x2", "channel": "x"},
                            mention("t", created_at="2026-03-02T10:15:00"),
                            mention("t", author={"followers": "many"}), mention("", attachments=[])]}
    response = post_mentions(client, signer, payload)
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"].endswith("/validation-error")
    fields = {e["field"] for e in problem["errors"]}
    assert {"mentions[1].text", "mentions[2].created_at", "mentions[3].author.followers", "mentions[4]"} <= fields
    assert count(session, StoredMention) == 0


def test_unknown_fields_and_non_json_are_422(client: TestClient, signer: Signer) -> None:
    response = post_mentions(client, signer, mention("t", colour="red"))
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "colour"
    body = b"not json"
    response = client.post("/webhooks/listening-tool", content=body, headers=signer.headers(body))
    assert response.status_code == 422


def test_more_than_1000_mentions_is_422(client: TestClient, signer: Signer) -> None:
    payload = {"mentions": [mention("x", id=f"b-{i}") for i in range(1001)]}
    response = post_mentions(client, signer, payload)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "mentions"


def test_a_batch_of_1000_is_accepted(client: TestClient, signer: Signer) -> None:
    payload = {"mentions": [mention("storing", id=f"b-{i}", author={"id": f"a{i}"}) for i in range(1000)]}
    body = post_mentions(client, signer, payload).json()
    assert body["accepted"] == 1000 and len(body["cases"]) == 1000


def test_over_one_mib_is_413_also_when_chunked(client: TestClient, signer: Signer, session: Session) -> None:
    big = json.dumps(mention("x" * (1024 * 1024))).encode()
    response = client.post("/webhooks/listening-tool", content=big, headers=signer.headers(big))
    assert response.status_code == 413
    assert response.json()["type"].endswith("/payload-too-large")

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(big), 64 * 1024):
            yield big[start:start + 64 * 1024]

    headers = signer.headers(big)
    response = client.post("/webhooks/listening-tool", content=chunks(), headers=headers)
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert response.status_code == 413
    assert count(session, StoredMention) == 0


def test_just_under_the_limit_is_accepted(client: TestClient, signer: Signer) -> None:
    body = json.dumps({"mentions": [mention("a" * 52_000, id=f"big-{i}") for i in range(20)]}).encode()
    assert 1_000_000 < len(body) <= 1024 * 1024
    response = client.post("/webhooks/listening-tool", content=body, headers=signer.headers(body))
    assert response.status_code == 200 and response.json()["accepted"] == 20


def test_an_unreachable_database_is_503_so_platforms_retry(settings, signer: Signer) -> None:  # type: ignore[no-untyped-def]
    from app.db import make_engine
    from app.main import create_app

    dead = make_engine("postgresql://postgres@127.0.0.1:1/nothing")
    app = create_app(settings, engine=dead)
    with TestClient(app) as dead_client:
        response = post_mentions(dead_client, Signer(app.state.secrets.get("TEST_LISTENING_SECRET", webhook=True)),
                                 mention("storing"))
    assert response.status_code == 503
    assert response.json()["type"].endswith("/database-unavailable")
    assert response.headers["retry-after"]
