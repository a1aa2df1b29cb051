"""GET /api/v1/rules, POST /api/v1/rules/reload and /explain over HTTP."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import BASIC_RULES
from tests.support import ApiClient, Signer, make_user_token, mention, post_mentions


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(BASIC_RULES, target)
    return target


@pytest.fixture
def ops(client: TestClient, sessions: sessionmaker[Session]) -> ApiClient:
    return ApiClient(client, make_user_token(sessions, "ops-olga", "ops"))


def test_rules_summary(ops: ApiClient) -> None:
    summary = ops.get("/api/v1/rules").json()
    assert summary["version"].startswith("rs-") and len(summary["version"]) == 15
    assert "rules/routing.yaml" in summary["files"]


def test_reload_swaps_a_good_folder_and_keeps_the_active_set_on_errors(
        ops: ApiClient, rules_dir: Path, client: TestClient, signer: Signer) -> None:
    before = ops.get("/api/v1/rules").json()["version"]
    rules_file = rules_dir / "rules" / "routing.yaml"
    rules_file.write_text(rules_file.read_text().replace("department: billing, category: billing",
                                                         "department: network, category: billing"))
    reloaded = ops.post("/api/v1/rules/reload")
    assert reloaded.status_code == 200, reloaded.text
    after = reloaded.json()["version"]
    assert after != before
    ref = post_mentions(client, signer, mention("mijn factuur")).json()["cases"][0]
    case = ops.get(f"/api/v1/cases/{ref}").json()
    assert case["department"] == "network" and case["routing"]["ruleset_version"] == after

    rules_file.write_text(rules_file.read_text() + "  - id: broken\n    order: 20\n    then: {colour: red}\n")
    refused = ops.post("/api/v1/rules/reload")
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["type"].endswith("/ruleset-invalid")
    assert any(e["field"].startswith(f"{rules_dir}/rules/routing.yaml:") for e in problem["errors"])
    assert ops.get("/api/v1/rules").json()["version"] == after


def test_explain_a_mention(ops: ApiClient) -> None:
    body = {"mention": {"id": "x", "channel": "x", "text": "Alweer STORING", "author": {"followers": 20000}},
            "now": "2026-03-02T10:15:00+01:00"}
    explained = ops.post("/api/v1/rules/explain", json=body)
    assert explained.status_code == 200, explained.text
    result = explained.json()
    assert result["decision"]["department"] == "network"
    assert result["decision"]["matched_rules"] == ["influencer", "outage"]
    assert [(r["id"], r["result"]) for r in result["rules"]] == [
        ("influencer", "matched"), ("outage", "matched"), ("billing", "not_evaluated")]


def test_explain_refuses_a_time_without_offset(ops: ApiClient) -> None:
    body = {"mention": {"id": "x", "channel": "x", "text": "hoi"}, "now": "2026-03-02T10:15:00"}
    response = ops.post("/api/v1/rules/explain", json=body)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "now"


def test_explain_needs_no_mention_id_but_still_checks_the_rest(ops: ApiClient) -> None:
    body = {"mention": {"channel": "x", "text": "Alweer STORING"}, "now": "2026-03-02T10:15:00+01:00"}
    explained = ops.post("/api/v1/rules/explain", json=body)
    assert explained.status_code == 200, explained.text
    assert explained.json()["decision"]["department"] == "network"
    empty_id = ops.post("/api/v1/rules/explain", json={"mention": {"id": "", "channel": "x", "text": "hoi"}})
    assert empty_id.status_code == 422 and empty_id.json()["errors"][0]["field"] == "mention.id"
    no_channel = ops.post("/api/v1/rules/explain", json={"mention": {"text": "hoi"}})
    assert no_channel.status_code == 422 and no_channel.json()["errors"][0]["field"] == "mention.channel"
