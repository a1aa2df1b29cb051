"""The suggested department in the service, on a real database: trained from the history by the
scheduled job, stored for every process, shown in the case JSON and on the case page for cases no
rule decided, silent without enough history, and never routing by itself."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.kernel.clock import utc_now
from app.learning.department_model import ModelRefresher, refresh_department_model
from app.learning.models import RoutingModel
from app.rules import load_ruleset
from app.workers import Workers
from tests.conftest import BASIC_RULES
from tests.learning.support import Step, seed
from tests.support import ApiClient, Signer, make_user_token, mention, post_mentions
from tests.ui.support import login, make_user

WIFI = ["wifi", "modem", "router", "bereik", "signaal", "traag"]
PAY = ["incasso", "betaald", "bedrag", "aanmaning", "teruggave", "afschrift"]
THANKS = ["bedankt", "top", "compliment", "fijn", "geweldig", "dankjewel"]


def history(n: int) -> list[tuple[str, list[Step]]]:
    """`n` default cases of each kind: wifi trouble handed to network, payment questions handed to
    billing, thanks resolved by webcare (no rule in the basic folder matches any of them)."""
    out: list[tuple[str, list[Step]]] = []
    for i in range(n):
        out.append((f"mijn {WIFI[i % 6]} doet raar, {WIFI[(i + 1) % 6]} ook", [Step("network")]))
        out.append((f"vraag over {PAY[i % 6]} en {PAY[(i + 2) % 6]}", [Step("billing")]))
        out.append((f"{THANKS[i % 6]}, echt {THANKS[(i + 3) % 6]}", [Step(None)]))
    return out


def test_suggested_department_from_the_stored_model(
        client: TestClient, signer: Signer, sessions: sessionmaker[Session], session: Session) -> None:
    ruleset = load_ruleset(BASIC_RULES)
    api = ApiClient(client, make_user_token(sessions, "ann", "agent"))
    fallen = post_mentions(client, signer, mention("de wifi is traag en het bereik slecht")).json()["cases"][0]
    decided = post_mentions(client, signer, mention("storing, de wifi is traag")).json()["cases"][0]
    unclear = post_mentions(client, signer, mention("hallo daar")).json()["cases"][0]

    def suggested(ref: str) -> object:
        return api.get(f"/api/v1/cases/{ref}").json()["suggested_department"]

    assert suggested(fallen) is None  # no model yet
    seed(sessions, ruleset, history(4), start=utc_now() - timedelta(days=2))
    with sessions() as s, s.begin():
        row = refresh_department_model(s, now=utc_now())
    assert row.examples == 12 + 0  # every seeded case, answered; the three posted above are still open
    assert suggested(fallen) is None  # 12 cases: too few to say anything

    seed(sessions, ruleset, history(12), start=utc_now() - timedelta(days=1))
    with sessions() as s, s.begin():
        refresh_department_model(s, now=utc_now())
    found = suggested(fallen)
    assert isinstance(found, dict) and found["department"] == "network" and found["confidence"] >= 0.6
    assert found["examples"] == 16 and found["trained_at"].endswith("Z")
    assert suggested(decided) is None  # a rule decided it
    assert suggested(unclear) is None  # nothing telling: below the confidence
    case = api.get(f"/api/v1/cases/{fallen}").json()
    assert (case["department"], case["status"]) == ("webcare", "open")  # it never routes

    make_user(sessions, "bea")
    login(client, "bea")
    page = client.get(f"/ui/cases/{fallen}").text
    assert 'id="suggested-department"' in page and "Netwerkbeheer" in page and f"{found['confidence']:.0%}" in page
    handed = api.post(f"/api/v1/cases/{fallen}/handoff", json={"department": "network"}).json()
    assert handed["suggested_department"] is None  # with network now: nothing left to suggest


def test_the_scheduled_job_trains_once_per_interval_across_processes(sessions: sessionmaker[Session]) -> None:
    ruleset = load_ruleset(BASIC_RULES)
    seed(sessions, ruleset, history(2), start=utc_now() - timedelta(hours=2))
    first, second = ModelRefresher(sessions), ModelRefresher(sessions)  # as in two processes
    first.run_job()
    second.run_job()  # another process trained a moment ago: skipped
    with sessions() as s:
        rows = list(s.scalars(select(RoutingModel)))
    assert [r.examples for r in rows] == [6]
    with sessions() as s, s.begin():
        for _ in range(4):
            refresh_department_model(s, now=utc_now())
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(RoutingModel)) == 3  # old runs pruned


def test_serve_and_worker_run_the_refresher(sessions: sessionmaker[Session], app) -> None:  # type: ignore[no-untyped-def]
    workers = Workers(sessions, app.state.rules, app.state.secrets)
    assert any(isinstance(w, ModelRefresher) for w in workers.workers)
