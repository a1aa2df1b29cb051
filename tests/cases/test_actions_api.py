"""Case actions over HTTP: who may do what, the timeline, the outbox feed, idempotency."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.delivery.models import Delivery, DepartmentEvent
from tests.support import ApiClient, Signer, make_department_token, make_user_token, mention, post_mentions


@pytest.fixture
def billing(client: TestClient, sessions: sessionmaker[Session]) -> ApiClient:
    return ApiClient(client, make_department_token(sessions, "billing"))


@pytest.fixture
def network(client: TestClient, sessions: sessionmaker[Session]) -> ApiClient:
    return ApiClient(client, make_department_token(sessions, "network"))


def new_case(client: TestClient, signer: Signer, text: str = "mijn factuur is te hoog") -> str:
    return str(post_mentions(client, signer, mention(text)).json()["cases"][0])


def feed(api: ApiClient, cursor: str | None = None) -> tuple[list[dict], str | None]:  # type: ignore[type-arg]
    body = api.get("/api/v1/events", params={"cursor": cursor} if cursor else {}).json()
    return body["items"], body["next_cursor"]


def test_department_round_trip_with_timeline_and_feed(client: TestClient, signer: Signer, api: ApiClient,
                                                     billing: ApiClient) -> None:
    ref = new_case(client, signer)
    items, cursor = feed(billing)
    assert [(e["type"], e["data"]["case"]["ref"]) for e in items] == [("case.handed_off", ref)]
    assert items[0]["data"]["case"]["status"] == "pending_department"
    # the case as the API shows it, with the department's own acknowledgement clock
    assert items[0]["data"]["case"]["sla"]["department_ack"]["department"] == "billing"
    assert items[0]["data"]["case"]["sla"]["department_ack"]["state"] == "running"

    acked = billing.post(f"/api/v1/cases/{ref}/acknowledge", json={"external_ref": "BIL-4711"})
    assert acked.status_code == 200, acked.text
    assert acked.json()["external_ref"] == "BIL-4711"
    again = billing.post(f"/api/v1/cases/{ref}/acknowledge", json={})
    assert again.status_code == 409
    assert "acknowledge" not in again.json()["allowed"]

    assert billing.post(f"/api/v1/cases/{ref}/notes", json={"text": "credit nota aangemaakt"}).status_code == 200
    resolved = billing.post(f"/api/v1/cases/{ref}/resolve", json={"resolution": "bedrag teruggestort"})
    assert resolved.json()["status"] == "resolved"
    closed = api.post(f"/api/v1/cases/{ref}/close", json={"reason": "klant tevreden"})
    assert closed.json()["status"] == "closed"

    timeline = [(e["type"], e["actor_type"], e["actor"]) for e in closed.json()["timeline"]]
    assert timeline[-4:] == [("acknowledged", "department", "billing"), ("note_added", "department", "billing"),
                             ("resolved", "department", "billing"), ("closed", "user", "agent-ann")]
    items, cursor2 = feed(billing, cursor)
    assert [e["type"] for e in items] == ["case.updated", "case.resolved", "case.closed"]
    assert items[0]["data"]["text"] == "credit nota aangemaakt"
    assert items[2]["data"]["actor"] == {"type": "user", "name": "agent-ann"}
    assert feed(billing, cursor2) == ([], None)


def test_departments_act_only_on_cases_they_own_now(client: TestClient, signer: Signer, api: ApiClient,
                                                   billing: ApiClient, network: ApiClient) -> None:
    ref = new_case(client, signer)
    assert network.post(f"/api/v1/cases/{ref}/acknowledge", json={}).status_code == 404  # never owned
    moved = billing.post(f"/api/v1/cases/{ref}/reroute", json={"department": "network", "reason": "is storing"})
    assert moved.status_code == 200 and moved.json()["department"] == "network"
    assert moved.json()["status"] == "pending_department"
    # billing has owned it: it may read it, but no longer act on it
    assert billing.get(f"/api/v1/cases/{ref}").status_code == 200
    refused = billing.post(f"/api/v1/cases/{ref}/notes", json={"text": "nog iets"})
    assert refused.status_code == 403
    assert [e["type"] for e in feed(network)[0]] == ["case.rerouted"]
    assert [e["type"] for e in feed(billing)[0]] == ["case.handed_off", "case.rerouted"]


def test_request_info_goes_back_to_webcare_and_pending_customer_returns(client: TestClient, signer: Signer,
                                                                        api: ApiClient, billing: ApiClient) -> None:
    ref = new_case(client, signer)
    asked = billing.post(f"/api/v1/cases/{ref}/request-info", json={"question": "Welk klantnummer?"})
    assert (asked.json()["status"], asked.json()["department"]) == ("open", "billing")
    waiting = api.post(f"/api/v1/cases/{ref}/pending-customer", json={})
    assert waiting.json()["status"] == "pending_customer"
    resumed = api.post(f"/api/v1/cases/{ref}/resume", json={})
    assert resumed.json()["status"] == "pending_department"


def test_refused_transitions_are_409_naming_the_allowed_actions(client: TestClient, signer: Signer,
                                                                api: ApiClient) -> None:
    ref = new_case(client, signer, "hoe laat zijn jullie open")
    assert api.post(f"/api/v1/cases/{ref}/resume", json={}).status_code == 409
    api.post(f"/api/v1/cases/{ref}/close", json={"reason": "dubbel"})
    refused = api.post(f"/api/v1/cases/{ref}/resolve", json={})
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["type"].endswith("/conflict")
    assert problem["allowed"] == ["notes", "reopen"]
    assert api.post(f"/api/v1/cases/{ref}/reopen", json={}).json()["status"] == "open"


def test_handoff_and_validation(client: TestClient, signer: Signer, api: ApiClient) -> None:
    ref = new_case(client, signer, "vraagje over mijn abonnement")
    unknown = api.post(f"/api/v1/cases/{ref}/handoff", json={"department": "marketing"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "department"
    missing = api.post(f"/api/v1/cases/{ref}/handoff", json={})
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "department"
    handed = api.post(f"/api/v1/cases/{ref}/handoff", json={"department": "billing", "reason": "factuurvraag"})
    assert (handed.json()["status"], handed.json()["department"]) == ("pending_department", "billing")
    same = api.post(f"/api/v1/cases/{ref}/handoff", json={"department": "billing"})
    assert same.status_code == 409
    back = api.post(f"/api/v1/cases/{ref}/handoff", json={"department": "webcare"})
    assert (back.json()["status"], back.json()["department"]) == ("open", "webcare")
    assert api.post(f"/api/v1/cases/{ref}/priority", json={"priority": "P0"}).status_code == 422
    assert api.post(f"/api/v1/cases/{ref}/priority", json={"priority": "P1"}).json()["priority"] == "P1"


def test_claim_and_assign_rules(client: TestClient, signer: Signer, api: ApiClient,
                                sessions: sessionmaker[Session]) -> None:
    ref = new_case(client, signer)
    make_user_token(sessions, "agent-bob", "agent")
    lead = ApiClient(client, make_user_token(sessions, "lead-lia", "lead"))
    assert api.post(f"/api/v1/cases/{ref}/claim", json={}).json()["assignee"] == "agent-ann"
    assert api.post(f"/api/v1/cases/{ref}/assign", json={"user": "agent-bob"}).status_code == 403
    assert lead.post(f"/api/v1/cases/{ref}/assign", json={"user": "agent-bob"}).json()["assignee"] == "agent-bob"
    assert lead.post(f"/api/v1/cases/{ref}/assign", json={"user": "ghost"}).status_code == 422
    mine = api.get("/api/v1/cases", params={"assignee": "agent-bob"}).json()["items"]
    assert [c["ref"] for c in mine] == [ref]


def test_merge_moves_the_mentions(client: TestClient, signer: Signer, api: ApiClient) -> None:
    a = new_case(client, signer, "eerste vraag")
    b = post_mentions(client, signer, mention("tweede vraag", author={"id": "other"})).json()["cases"][0]
    merged = api.post(f"/api/v1/cases/{b}/merge", json={"into": a})
    assert merged.status_code == 200, merged.text
    assert merged.json()["status"] == "closed" and merged.json()["mentions"] == []
    target = api.get(f"/api/v1/cases/{a}").json()
    assert [m["text"] for m in target["mentions"]] == ["eerste vraag", "tweede vraag"]
    assert target["timeline"][-1]["type"] == "merged_in"
    assert api.post(f"/api/v1/cases/{a}/merge", json={"into": a}).status_code == 422
    assert api.post(f"/api/v1/cases/{a}/merge", json={"into": b}).status_code == 409


def test_idempotency_key_replays_and_refuses_another_body(client: TestClient, signer: Signer, api: ApiClient,
                                                          session: Session) -> None:
    ref = new_case(client, signer)
    headers = {"Idempotency-Key": "note-1"}
    first = api.post(f"/api/v1/cases/{ref}/notes", json={"text": "een"}, headers=headers)
    replay = api.post(f"/api/v1/cases/{ref}/notes", json={"text": "een"}, headers=headers)
    assert first.status_code == replay.status_code == 200
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == first.json()
    notes = [e for e in api.get(f"/api/v1/cases/{ref}").json()["timeline"] if e["type"] == "note_added"]
    assert len(notes) == 1
    other = api.post(f"/api/v1/cases/{ref}/notes", json={"text": "twee"}, headers=headers)
    assert other.status_code == 422 and other.json()["type"].endswith("/idempotency-key-reused")


def test_outbox_rows_are_written_with_the_change(client: TestClient, signer: Signer, billing: ApiClient,
                                                 session: Session) -> None:
    ref = new_case(client, signer)
    events = session.scalar(select(func.count()).select_from(DepartmentEvent)) or 0
    deliveries = session.scalar(select(func.count()).select_from(Delivery)) or 0
    assert (events, deliveries) == (1, 1)  # billing has a webhook subscribing to every type
    billing.post(f"/api/v1/cases/{ref}/notes", json={"text": "x"})
    assert session.scalar(select(func.count()).select_from(Delivery)) == 2
    delivery = session.scalars(select(Delivery).order_by(Delivery.id.desc())).first()
    assert delivery is not None and delivery.status == "pending" and delivery.event_type == "case.updated"


def test_the_events_feed_is_for_departments_and_ops(client: TestClient, api: ApiClient,
                                                   sessions: sessionmaker[Session]) -> None:
    assert api.get("/api/v1/events").status_code == 403
    ops = ApiClient(client, make_user_token(sessions, "ops-oz", "ops"))
    assert ops.get("/api/v1/events", params={"department": "billing"}).status_code == 200
    assert ops.get("/api/v1/events", params={"cursor": "nope", "department": "billing"}).status_code == 422
