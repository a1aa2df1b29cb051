"""`GET /api/v1/reports/routing` over real HTTP and `webcare rules quality` as a process, both on
real databases with cases routed by the rules and moved by people through the real services."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.db import make_engine, make_sessionmaker
from app.kernel.clock import utc_now
from app.migrate import upgrade_to_head
from app.rules import load_ruleset
from tests.conftest import BASIC_RULES
from tests.dbutil import scratch_database_url
from tests.learning.support import Step, seed, webcare
from tests.support import ApiClient, Signer, make_department_token, make_user_token, mention, post_mentions


def test_the_report_over_http(client: TestClient, signer: Signer, sessions: sessionmaker[Session]) -> None:
    agent = ApiClient(client, make_user_token(sessions, "ann", "agent"))
    lead = ApiClient(client, make_user_token(sessions, "lee", "lead"))
    billing = ApiClient(client, make_department_token(sessions, "billing"))

    def new(text: str) -> str:
        return str(post_mentions(client, signer, mention(text)).json()["cases"][0])

    stays, bounced = new("Mijn factuur klopt niet"), new("factuur en geen bereik")
    outage, fallen = new("storing in Utrecht"), new("hallo, vraagje")
    assert billing.post(f"/api/v1/cases/{bounced}/reroute", json={"department": "network", "reason": "bereik"}
                        ).status_code == 200
    assert agent.post(f"/api/v1/cases/{fallen}/handoff", json={"department": "billing"}).status_code == 200

    response = lead.get("/api/v1/reports/routing")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["decided"] == {"cases": 3, "stayed": 2, "misrouted": 1, "share_stayed": 0.6667}
    assert [(r["rule"], r["cases"], r["misrouted"], r["final"], r["examples"]) for r in body["rules"]] == [
        ("billing", 2, 1, {"network": 1}, [bounced]), ("outage", 1, 0, {}, [outage])]
    assert body["default"]["handed_on"] == 1 and body["default"]["flows"] == [
        {"rules_department": "webcare", "final_department": "billing", "cases": 1, "examples": [fallen]}]
    assert stays not in json.dumps(body["rules"])  # examples of a rule with misroutes are misroutes

    as_csv = lead.get("/api/v1/reports/routing?format=csv")
    by_accept = lead.get("/api/v1/reports/routing", headers={"accept": "text/csv"})
    assert as_csv.headers["content-type"].startswith("text/csv") and as_csv.text == by_accept.text
    assert f"rule,billing,,billing,,2,1,1,0.5,{bounced}" in as_csv.text

    later = (utc_now() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert lead.get(f"/api/v1/reports/routing?from={later}").json()["errors"][0]["field"] == "from"
    empty = lead.get(f"/api/v1/reports/routing?from={later}&to={later.replace('Z', '.5Z')}")
    assert empty.status_code == 200 and empty.json()["decided"]["cases"] == 0
    naive = lead.get("/api/v1/reports/routing?from=2026-11-01T00:00:00")
    assert naive.status_code == 422
    assert agent.get("/api/v1/reports/routing").status_code == 403
    assert billing.get("/api/v1/reports/routing").status_code == 403
    assert client.get("/api/v1/reports/routing").status_code == 401


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[tuple[dict[str, str], sessionmaker[Session]]]:
    with scratch_database_url(tmp_path) as url:
        engine = make_engine(url)
        upgrade_to_head(engine)
        env = {"WEBCARE_DATABASE_URL": url, "WEBCARE_VAR_DIR": str(tmp_path / "var"),
               "WEBCARE_RULES_DIR": str(BASIC_RULES)}
        yield env, make_sessionmaker(engine)
        engine.dispose()


def test_rules_quality_as_a_process(scratch: tuple[dict[str, str], sessionmaker[Session]]) -> None:
    env, sessions = scratch
    ruleset = load_ruleset(BASIC_RULES)
    now = utc_now()
    # 40 days ago: outside the default window of 30 days.
    seed(sessions, ruleset, [("factuur", [Step("network")])], start=now - timedelta(days=40))
    refs = seed(sessions, ruleset, [
        ("factuur te hoog", []), ("rekening klopt niet", [Step("network", by="billing")]),
        ("storing", []), ("storing!!", [Step(None, by="network"), Step("billing")]), ("hoi", [Step("network")]),
    ], start=now - timedelta(days=2))
    done = webcare(env, "rules", "quality", "--format", "json")
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["decided"] == {"cases": 4, "stayed": 2, "misrouted": 2, "share_stayed": 0.5}
    assert [(r["rule"], r["misrouted"], r["examples"]) for r in body["rules"]] == [
        ("billing", 1, [refs[1]]), ("outage", 1, [refs[3]])]
    assert body["default"]["flows"][0]["examples"] == [refs[4]]
    wider = json.loads(webcare(env, "rules", "quality", "--since", "6w", "--format", "json").stdout)
    assert wider["decided"]["cases"] == 5
    text = webcare(env, "rules", "quality").stdout
    assert "decided by a rule: 4, stayed 2 (50.0%), misrouted 2" in text and "webcare -> network: 1" in text
    refused = webcare(env, "rules", "quality", "--since", "soon")
    assert refused.returncode == 2 and "--since" in refused.stderr
