"""GET /api/v1/rules, POST /api/v1/rules/reload and /explain over HTTP, and what ops see of reloads
and rule hits there and in `/metrics`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.kernel.clock import utc_now
from app.rules.hits import HitCount, flush_hits
from app.rules.models import RuleReloadRequest
from app.rules.processes import ProcessReport, record_process
from tests.conftest import BASIC_RULES
from tests.metrics.test_metrics import samples
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


def test_a_refused_reload_is_shown_everywhere_while_the_old_set_serves(
        ops: ApiClient, client: TestClient, rules_dir: Path, signer: Signer) -> None:
    running = ops.get("/api/v1/rules").json()
    assert running["reload"]["successful"] is True and running["reload"]["errors"] == []
    rules_file = rules_dir / "rules" / "routing.yaml"
    rules_file.write_text(rules_file.read_text().replace("[list:billing]", "[list:invoices]"))

    assert ops.post("/api/v1/rules/reload").status_code == 422

    shown = ops.get("/api/v1/rules").json()
    assert shown["version"] == running["version"]
    assert shown["reload"]["successful"] is False
    assert shown["reload"]["last_success_at"] == running["reload"]["last_success_at"]
    assert shown["reload"]["errors"] == [f"{rules_file}:16:34: error: unknown list 'invoices' (known: billing, outage)"]
    # /readyz is checked in tests/test_rules_reload_e2e.py: it opens a connection of its own, which
    # waits here for the write lock of the test's transaction on SQLite.
    found = samples(client)
    assert found[("webcare_rules_last_reload_successful", ())] == 0
    assert found[("webcare_rules_info", (("version", running["version"]),))] == 1
    assert found[("webcare_rules_last_reload_success_timestamp_seconds", ())] > 1.7e9
    ref = post_mentions(client, signer, mention("mijn factuur")).json()["cases"][0]
    assert ops.get(f"/api/v1/cases/{ref}").json()["department"] == "billing"


def test_a_good_reload_asks_the_other_processes_through_the_database(
        ops: ApiClient, client: TestClient, rules_dir: Path, session: Session) -> None:
    asked = select(func.count()).select_from(RuleReloadRequest)
    before = session.scalar(asked)
    assert ops.post("/api/v1/rules/reload").status_code == 200
    assert session.scalar(asked) == before + 1
    rules_file = rules_dir / "rules" / "routing.yaml"
    rules_file.write_text(rules_file.read_text() + "  - id: broken\n")
    assert ops.post("/api/v1/rules/reload").status_code == 422
    assert session.scalar(asked) == before + 1  # a refused reload asks nobody


def test_processes_report_their_versions_and_whether_they_agree(
        ops: ApiClient, app, session: Session) -> None:  # type: ignore[no-untyped-def]
    version = app.state.rules.current.version
    now = utc_now()
    record_process(session, ProcessReport("host:1:aaaaaa", "serve", version, app.state.rules.status),
                   started_at=now, now=now)
    session.commit()
    shown = ops.get("/api/v1/rules").json()
    assert [(p["id"], p["version"]) for p in shown["processes"]] == [("host:1:aaaaaa", version)]
    assert shown["versions_agree"] is True

    record_process(session, ProcessReport("host:2:bbbbbb", "worker", "rs-000000000000", app.state.rules.status),
                   started_at=now, now=now)
    session.commit()
    shown = ops.get("/api/v1/rules").json()
    assert {p["version"] for p in shown["processes"]} == {version, "rs-000000000000"}
    assert shown["versions_agree"] is False


def test_rule_hits_are_summed_in_the_database_and_shown(
        ops: ApiClient, client: TestClient, app, signer: Signer, session: Session) -> None:  # type: ignore[no-untyped-def]
    post_mentions(client, signer, mention("STORING en mijn factuur", author={"id": "a", "followers": 50_000}))
    post_mentions(client, signer, mention("geen internet", author={"id": "b"}))
    post_mentions(client, signer, mention("mijn factuur", author={"id": "c"}))
    counted = app.state.rule_hits.take()
    assert counted == {"influencer": HitCount(1, 0), "outage": HitCount(2, 2), "billing": HitCount(1, 1)}
    flush_hits(session, counted, now=utc_now())
    flush_hits(session, {"billing": HitCount(3, 2)}, now=utc_now())  # another process's batch
    session.commit()

    hits = {h["rule"]: (h["matched"], h["decided"]) for h in ops.get("/api/v1/rules").json()["hits"]}
    assert hits == {"influencer": (1, 0), "outage": (2, 2), "billing": (4, 3)}
    found = samples(client)
    assert found[("webcare_rule_hits_total", (("outcome", "decided"), ("rule", "billing")))] == 3
    assert found[("webcare_rule_hits_total", (("outcome", "matched"), ("rule", "influencer")))] == 1
