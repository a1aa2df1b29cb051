"""The delivery log API: deliveries with attempts, redelivery, subscriptions and re-enabling."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.delivery.claims import set_subscription
from app.delivery.models import DeliveryAttempt
from app.kernel.refs import format_ref
from app.main import create_app
from app.rules import load_ruleset
from tests.delivery.support import NOW, add_events, delivery_of, rules_folder, standard_hooks
from tests.support import ApiClient, make_department_token, make_user_token


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    return rules_folder(tmp_path / "rules", standard_hooks("https://hooks.test"))


@pytest.fixture
def app(settings: Any, engine: Any, sessions: sessionmaker[Session]) -> Any:
    return create_app(settings, engine=engine, sessions=sessions)


@pytest.fixture
def ops(client: TestClient, sessions: sessionmaker[Session]) -> ApiClient:
    return ApiClient(client, make_user_token(sessions, "ops-olga", "ops"))


@pytest.fixture
def lead(client: TestClient, sessions: sessionmaker[Session]) -> ApiClient:
    return ApiClient(client, make_user_token(sessions, "lead-lotte", "lead"))


@pytest.fixture
def log(app: Any, sessions: sessionmaker[Session]) -> dict[str, list[list[int]]]:
    """Billing: two cases of two events; network: one case of one event, dead after two attempts."""
    ruleset = app.state.rules.current
    billing = add_events(sessions, ruleset, department="billing", cases=2, per_case=2)
    network = add_events(sessions, ruleset, department="network", cases=1, per_case=1, type="case.handed_off")
    with sessions() as session, session.begin():
        dead = delivery_of(session, network[0][0])
        dead.status, dead.attempts, dead.last_status_code = "dead", 2, 500
        dead.last_error = "HTTP 500; no attempts left"
        for n, code in enumerate((502, 500)):
            session.add(DeliveryAttempt(delivery_id=dead.id, started_at=NOW + timedelta(seconds=n), status_code=code,
                                        latency_ms=12, error=f"HTTP {code}", response_body="nope"))
        session.flush()
        done = delivery_of(session, billing[0][0])
        done.status, done.attempts, done.delivered_at = "delivered", 1, NOW
        session.add(DeliveryAttempt(delivery_id=done.id, started_at=NOW, status_code=200, latency_ms=3,
                                    error=None, response_body="ok"))
    return {"billing": billing, "network": network}


def test_deliveries_list_newest_first_with_attempts(lead: ApiClient, log: dict[str, list[list[int]]]) -> None:
    response = lead.get("/api/v1/deliveries")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["next_cursor"] is None
    items = body["items"]
    assert len(items) == 5
    assert [i["id"] for i in items] == sorted((i["id"] for i in items), reverse=True)
    dead = items[0]
    assert dead["status"] == "dead" and dead["department"] == "network" and dead["type"] == "case.handed_off"
    assert dead["webhook_id"] == f"evt_{dead['event_id']}" and dead["case"].startswith("WC-")
    assert [a["status_code"] for a in dead["attempts"]] == [502, 500]
    assert dead["attempts"][0] | {"id": 0} == {"id": 0, "started_at": "2026-03-02T09:00:00Z", "status_code": 502,
                                               "latency_ms": 12, "error": "HTTP 502", "response_body": "nope"}
    assert dead["attempt_count"] == 2 and dead["next_attempt_at"] is None
    pending = [i for i in items if i["status"] == "pending"]
    assert len(pending) == 3 and all(i["attempts"] == [] and i["next_attempt_at"] for i in pending)


def test_deliveries_filters(lead: ApiClient, session: Session, log: dict[str, list[list[int]]]) -> None:
    def ids(query: str) -> list[int]:
        response = lead.get(f"/api/v1/deliveries?{query}")
        assert response.status_code == 200, response.text
        return sorted(i["event_id"] for i in response.json()["items"])

    billing, network = log["billing"], log["network"]
    assert ids("status=dead") == network[0]
    assert ids("status=dead&status=delivered") == sorted([network[0][0], billing[0][0]])
    assert ids("department=billing") == sorted(i for ids in billing for i in ids)
    assert ids("type=case.handed_off") == network[0]
    assert ids("department=billing&status=pending") == sorted([billing[0][1], *billing[1]])
    case_id = delivery_of(session, billing[1][0]).case_id
    assert ids(f"case={format_ref(case_id)}") == billing[1]
    assert ids("department=claims") == []


def test_deliveries_pages_with_a_cursor(lead: ApiClient, log: dict[str, list[list[int]]]) -> None:
    seen: list[int] = []
    cursor = None
    for _ in range(5):
        query = "limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = lead.get(f"/api/v1/deliveries?{query}").json()
        seen += [i["id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5 and seen == sorted(set(seen), reverse=True)


@pytest.mark.parametrize(("query", "field"), [("status=lost", "status"), ("case=123", "case"),
                                              ("cursor=%%%", "cursor"), ("limit=201", "limit")])
def test_deliveries_bad_query_is_422(lead: ApiClient, query: str, field: str) -> None:
    response = lead.get(f"/api/v1/deliveries?{query}")
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert field in {e["field"] for e in response.json()["errors"]}


def test_who_may_read_and_act(client: TestClient, sessions: sessionmaker[Session], api: ApiClient,
                              lead: ApiClient, ops: ApiClient, log: dict[str, list[list[int]]]) -> None:
    department = ApiClient(client, make_department_token(sessions, "billing"))
    assert client.get("/api/v1/deliveries").status_code == 401
    assert api.get("/api/v1/deliveries").status_code == 403          # agent
    assert department.get("/api/v1/deliveries").status_code == 403
    assert ops.get("/api/v1/deliveries").status_code == 200
    for who in (api, lead, department):
        assert who.get("/api/v1/subscriptions").status_code == 403
        assert who.post("/api/v1/subscriptions/billing/enable").status_code == 403
        assert who.post("/api/v1/deliveries/1/redeliver").status_code == 403
    assert client.post("/api/v1/deliveries/1/redeliver").status_code == 401


def test_redeliver_requeues_a_dead_delivery_and_keeps_its_history(
        ops: ApiClient, session: Session, log: dict[str, list[list[int]]]) -> None:
    dead = delivery_of(session, log["network"][0][0])
    response = ops.post(f"/api/v1/deliveries/{dead.id}/redeliver", headers={"Idempotency-Key": "r-1"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "pending" and body["attempt_count"] == 0 and body["last_error"] is None
    assert [a["status_code"] for a in body["attempts"]] == [502, 500]
    row = delivery_of(session, dead.event_id)
    assert (row.status, row.attempts, row.lease_owner) == ("pending", 0, None)
    again = ops.post(f"/api/v1/deliveries/{dead.id}/redeliver", headers={"Idempotency-Key": "r-1"})
    assert again.status_code == 200 and again.headers.get("idempotent-replayed") == "true"
    conflict = ops.post(f"/api/v1/deliveries/{dead.id}/redeliver")
    assert conflict.status_code == 409 and "pending" in conflict.json()["detail"]


def test_redeliver_a_delivered_one_and_refusals(ops: ApiClient, session: Session, app: Any,
                                                log: dict[str, list[list[int]]], tmp_path: Path) -> None:
    done = delivery_of(session, log["billing"][0][0])
    assert ops.post(f"/api/v1/deliveries/{done.id}/redeliver").json()["status"] == "pending"
    assert ops.post("/api/v1/deliveries/999999/redeliver").status_code == 404
    dead = delivery_of(session, log["network"][0][0])
    app.state.rules.current = load_ruleset(rules_folder(tmp_path / "no-network", {}))
    refused = ops.post(f"/api/v1/deliveries/{dead.id}/redeliver")
    assert refused.status_code == 409 and "no webhook" in refused.json()["detail"]
    assert delivery_of(session, dead.event_id).status == "dead"


def test_subscriptions_show_state_and_counts_and_can_be_enabled(
        ops: ApiClient, sessions: sessionmaker[Session], log: dict[str, list[list[int]]]) -> None:
    body = ops.get("/api/v1/subscriptions").json()
    assert body["next_cursor"] is None
    by_department = {s["department"]: s for s in body["items"]}
    assert set(by_department) == {"billing", "network"}       # webcare and claims have no webhook
    assert by_department["billing"] == {
        "department": "billing", "name": "Billing", "url": "https://hooks.test/billing", "events": None,
        "enabled": True, "disabled_reason": None, "disabled_at": None, "pending": 3, "dead": 0}
    assert (by_department["network"]["pending"], by_department["network"]["dead"]) == (0, 1)
    with sessions() as session, session.begin():
        set_subscription(session, "network", enabled=False, now=NOW, reason="410 Gone answered")
    network = next(s for s in ops.get("/api/v1/subscriptions").json()["items"] if s["department"] == "network")
    assert network["enabled"] is False and network["disabled_reason"] == "410 Gone answered"
    assert network["disabled_at"] == "2026-03-02T09:00:00Z"
    enabled = ops.post("/api/v1/subscriptions/network/enable")
    assert enabled.status_code == 200, enabled.text
    assert enabled.json()["enabled"] is True and enabled.json()["disabled_reason"] is None
    assert ops.post("/api/v1/subscriptions/network/enable").json()["enabled"] is True   # idempotent
    assert ops.post("/api/v1/subscriptions/claims/enable").status_code == 404
    assert ops.post("/api/v1/subscriptions/nobody/enable").status_code == 404


def test_the_routes_and_models_are_in_the_openapi_document(app: Any) -> None:
    document = app.openapi()
    assert set(document["paths"]) >= {"/api/v1/deliveries", "/api/v1/deliveries/{delivery_id}/redeliver",
                                      "/api/v1/subscriptions", "/api/v1/subscriptions/{department}/enable"}
    assert {"DeliveryOut", "DeliveryAttemptOut", "DeliveryPage", "SubscriptionOut"} <= set(
        document["components"]["schemas"])
