"""Each change ops and leads make through the API or the UI leaves one audit entry naming who,
when and what, with no secret in it; a refused change leaves none."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.delivery.claims import set_subscription
from app.kernel.clock import utc_now
from tests.delivery.support import Hook, add_events, delivery_of, rules_folder, standard_hooks
from tests.support import ApiClient, Signer, audited, make_department_token, make_user_token, mention, post_mentions
from tests.ui.support import PASSWORD, csrf_of, login, make_user


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    return rules_folder(tmp_path / "rules", standard_hooks("https://hooks.test"))


@pytest.fixture
def ops(client: TestClient, sessions: sessionmaker[Session]) -> ApiClient:
    return ApiClient(client, make_user_token(sessions, "ops-olga", "ops"))


def only(entries: list[dict[str, Any]], target: str) -> dict[str, Any]:
    [entry] = [e for e in entries if e["target"] == target]
    return entry


def test_ops_changes_in_the_ui_are_audited_with_the_ops_user(client: TestClient, sessions: sessionmaker[Session],
                                                              ops: ApiClient) -> None:
    make_user(sessions, "olga-ui", "ops")
    make_user(sessions, "ann")
    department_token = make_department_token(sessions, "billing")
    login(client, "olga-ui")
    csrf = csrf_of(client.get("/ui/admin/users").text)
    added = client.post("/ui/admin/users", data={"username": "bob", "role": "lead", "csrf_token": csrf})
    one_time = re.search(r'<code id="one-time-password">([^<]+)</code>', added.text)
    assert one_time
    client.post("/ui/admin/users/ann/reset", data={"csrf_token": csrf})
    client.post("/ui/admin/users/ann/deactivate", data={"csrf_token": csrf})
    token_id = re.search(r'action="/ui/admin/tokens/(\d+)/revoke"', client.get("/ui/admin/tokens").text)
    assert token_id
    client.post(f"/ui/admin/tokens/{token_id.group(1)}/revoke", data={"csrf_token": csrf})
    taken = client.post("/ui/admin/users", data={"username": "bob", "role": "agent", "csrf_token": csrf})
    assert "user bob exists" in taken.text  # refused: no second entry
    client.cookies.clear()

    by_olga = {"actor_type": "user", "actor": "olga-ui"}
    created = only(audited(ops, "user.created"), "user:bob")
    assert created | by_olga == created and created["details"] == {"role": "lead", "via": "ui"}
    reset = only(audited(ops, "user.password_reset"), "user:ann")
    assert reset | by_olga == reset and reset["details"] == {"must_change_password": True, "via": "ui"}
    gone = only(audited(ops, "user.deactivated"), "user:ann")
    assert gone | by_olga == gone and gone["details"] == {"tokens_revoked": 0, "via": "ui"}
    revoked = only(audited(ops, "token.revoked"), f"token:{token_id.group(1)}")
    assert revoked | by_olga == revoked and revoked["details"] == {"owner": "department:billing", "via": "ui"}
    assert len([e for e in audited(ops, "user.created") if e["target"] == "user:bob"]) == 1
    everything = str(ops.get("/api/v1/audit", params={"limit": 200}).json())
    for secret in (one_time.group(1), department_token, ops.token, PASSWORD):
        assert secret not in everything

    # bob changes his own one-time password: audited as his own change, not a reset
    login(client, "bob", one_time.group(1))
    csrf = csrf_of(client.get("/ui/password").text)
    done = client.post("/ui/password", data={"current": one_time.group(1), "new": "bobs-own-password",
                                             "confirm": "bobs-own-password", "csrf_token": csrf})
    assert done.status_code == 200
    own = only(audited(ops, "user.password_changed"), "user:bob")
    assert (own["actor"], own["details"]) == ("bob", {"must_change_password": False, "via": "ui"})


def test_rule_reloads_over_http_are_audited_with_the_departments_whose_webhook_changed(
        ops: ApiClient, rules_dir: Path) -> None:
    before = ops.get("/api/v1/rules").json()["version"]
    rules_folder(rules_dir, {**standard_hooks("https://hooks.test"),
                             "network": Hook("https://new-hooks.test/network", "TEST_DELIVERY_NETWORK_SECRET")})
    assert ops.post("/api/v1/rules/reload").status_code == 200
    after = ops.get("/api/v1/rules").json()["version"]
    [entry] = audited(ops, "rules.reloaded")
    assert (entry["actor_type"], entry["actor"], entry["target"]) == ("user", "ops-olga", "rules")
    assert entry["details"] == {"trigger": "POST /api/v1/rules/reload", "version_before": before, "version": after,
                                "changed": True, "departments_changed": ["network"], "via": "api"}
    assert "new-hooks.test" not in str(entry)  # a URL may carry a department's credentials

    (rules_dir / "departments.yaml").write_text("departments: [\n")
    assert ops.post("/api/v1/rules/reload").status_code == 422
    assert len(audited(ops, "rules.reloaded")) == 1  # a refused reload changed nothing


def test_redeliveries_and_re_enabled_subscriptions_are_audited(
        app: Any, ops: ApiClient, sessions: sessionmaker[Session], session: Session) -> None:
    [[event_id]] = add_events(sessions, app.state.rules.current, department="billing", cases=1, per_case=1)
    delivery = delivery_of(session, event_id)
    assert ops.post(f"/api/v1/deliveries/{delivery.id}/redeliver").status_code == 409  # still pending
    assert audited(ops, "delivery.redelivered") == []
    with sessions() as s, s.begin():
        row = delivery_of(s, event_id)
        row.status = "dead"
    assert ops.post(f"/api/v1/deliveries/{delivery.id}/redeliver").status_code == 200
    [entry] = audited(ops, "delivery.redelivered")
    assert (entry["actor"], entry["target"]) == ("ops-olga", f"delivery:{delivery.id}")
    assert entry["details"] == {"department": "billing", "case": entry["details"]["case"], "via": "api",
                                "event_type": delivery.event_type, "status_before": "dead"}
    assert entry["details"]["case"].startswith("WC-")

    assert ops.post("/api/v1/subscriptions/billing/enable").status_code == 200  # enabled already: no change
    assert audited(ops, "subscription.enabled") == []
    with sessions() as s, s.begin():
        set_subscription(s, "billing", enabled=False, now=utc_now(), reason="410 Gone answered")
    enabled = ops.post("/api/v1/subscriptions/billing/enable")
    assert enabled.status_code == 200 and enabled.json()["enabled"] is True
    [entry] = audited(ops, "subscription.enabled")
    assert (entry["actor"], entry["target"], entry["details"]) == (
        "ops-olga", "department:billing", {"disabled_reason": "410 Gone answered", "via": "api"})


def test_erasures_and_exports_are_audited_without_the_person(client: TestClient, signer: Signer,
                                                              ops: ApiClient) -> None:
    author = {"id": "7f3a91-jan", "handle": "@jan_de_klant", "name": "Jan de Klant"}
    assert post_mentions(client, signer, mention("Mijn factuur klopt niet", author=author)).status_code == 200
    subject = {"connector": "listening-tool", "author_id": author["id"]}
    assert ops.post("/api/v1/privacy/export", json=subject).status_code == 200
    assert ops.post("/api/v1/privacy/erasure", json=subject).status_code == 200
    assert ops.post("/api/v1/privacy/erasure", json=subject).status_code == 200  # nothing left: still recorded

    [exported] = audited(ops, "privacy.export")
    assert (exported["actor"], exported["target"]) == ("ops-olga", "connector:listening-tool")
    assert exported["details"] == {"mentions": 1, "cases": 1, "replies": 0, "feedback": 0, "department_events": 0,
                                   "dead_letters": 0, "via": "api"}
    again, first = audited(ops, "privacy.erasure")
    assert (first["actor"], first["target"]) == ("ops-olga", "connector:listening-tool")
    assert first["details"]["mentions"] == 1 and first["details"]["cases"] == 1
    assert again["details"]["mentions"] == 0 and again["details"]["cases"] == 0
    everything = str(ops.get("/api/v1/audit", params={"limit": 200}).json())
    for personal in (*author.values(), "factuur"):
        assert personal not in everything
