"""Every /api/v1 endpoint with no token, an agent, a lead, ops, a token of the owning department and
a token of another department, against the matrix of SPEC §2 "Auth" written out below.

Each (endpoint, caller) pair gets a fresh case owned by billing (pending_department), prepared into
the state the action needs, so a status answers who may act and never the case's state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.audit import SYSTEM
from app.auth.service import revoke_token
from app.delivery.models import Delivery
from app.incidents.models import Incident, IncidentCase
from app.kernel.clock import utc_now
from tests.support import Signer, make_department_token, make_user_token, mention, post_mentions

CALLERS = ("none", "agent", "lead", "ops", "own", "other")
USERS_OK = {"none": 401, "agent": 200, "lead": 200, "ops": 200, "own": 403, "other": 404}
AGENT_ACTION = USERS_OK
DEPARTMENT_ONLY = {"none": 401, "agent": 403, "lead": 403, "ops": 403, "own": 200, "other": 404}
BOTH = {"none": 401, "agent": 200, "lead": 200, "ops": 200, "own": 200, "other": 404}
OPS = {"none": 401, "agent": 403, "lead": 403, "ops": 200, "own": 403, "other": 403}
LEAD = {"none": 401, "agent": 403, "lead": 200, "ops": 200, "own": 403, "other": 403}
AGENT_UP = {"none": 401, "agent": 200, "lead": 200, "ops": 200, "own": 403, "other": 403}
Setup = Callable[["Ctx"], None]


class Ctx:
    """A fresh billing case and a way to act on it as any caller."""

    def __init__(self, client: TestClient, signer: Signer, tokens: dict[str, str | None], session: Session):
        self.client, self.tokens, self.session = client, tokens, session
        self.ref = post_mentions(client, signer, mention("mijn factuur klopt niet")).json()["cases"][0]
        self.other_ref = post_mentions(client, signer, mention("hoe laat open?", author={"id": "x"})).json()["cases"][0]

    def call(self, caller: str, method: str, path: str, body: Any = None):  # type: ignore[no-untyped-def]
        token = self.tokens[caller]
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return self.client.request(method, path.format(ref=self.ref, other=self.other_ref,
                                                       delivery=self.delivery_id(), incident=self.incident_id()),
                                   json=body, headers=headers)

    def act(self, caller: str, action: str, body: Any = None) -> None:
        response = self.call(caller, "POST", f"/api/v1/cases/{{ref}}/{action}", body or {})
        assert response.status_code == 200, response.text

    def delivery_id(self) -> int:
        delivery = self.session.scalars(select(Delivery).order_by(Delivery.id)).first()
        return delivery.id if delivery else 0

    def incident_id(self) -> int:
        incident = self.session.scalars(select(Incident).order_by(Incident.id)).first()
        return incident.id if incident else 0

    def open_incident(self) -> None:
        """An open incident grouping the billing case (as the incident check would open one)."""
        now = utc_now()
        incident = Incident(watch="outage", title="Storing", status="open", opened_at=now, last_hot_at=now,
                            checked_at=now, usual=0.0, needed=20, peak=20, ruleset_version="rs-test")
        self.session.add(incident)
        self.session.flush()
        self.session.add(IncidentCase(incident_id=incident.id, case_id=int(self.ref[3:]), joined_at=now))
        self.session.commit()

    def kill_deliveries(self) -> None:
        for delivery in self.session.scalars(select(Delivery)):
            delivery.status = "dead"
        self.session.commit()


def nothing(ctx: Ctx) -> None:
    pass


MATRIX: list[tuple[str, str, Any, Setup, dict[str, int]]] = [
    ("GET", "/api/v1/cases", None, nothing, {**USERS_OK, "own": 200, "other": 200}),
    ("GET", "/api/v1/cases/{ref}", None, nothing, {**USERS_OK, "own": 200}),
    # agent actions
    ("POST", "/api/v1/cases/{ref}/claim", {}, nothing, AGENT_ACTION),
    ("POST", "/api/v1/cases/{ref}/assign", {"user": "a1"}, nothing, {**AGENT_ACTION, "agent": 200}),
    ("POST", "/api/v1/cases/{ref}/handoff", {"department": "network"}, nothing, AGENT_ACTION),
    ("POST", "/api/v1/cases/{ref}/respond", {"text": "We kijken", "send": False}, nothing, AGENT_ACTION),
    ("POST", "/api/v1/cases/{ref}/pending-customer", {}, nothing, AGENT_ACTION),
    ("POST", "/api/v1/cases/{ref}/resume", {}, lambda c: c.act("agent", "pending-customer"), AGENT_ACTION),
    ("POST", "/api/v1/cases/{ref}/priority", {"priority": "P1"}, nothing, AGENT_ACTION),
    ("POST", "/api/v1/cases/{ref}/tag", {"tags": ["vip"]}, nothing, AGENT_ACTION),
    ("POST", "/api/v1/cases/{ref}/close", {"reason": "dubbel"}, nothing, AGENT_ACTION),
    ("POST", "/api/v1/cases/{ref}/reopen", {}, lambda c: c.act("agent", "resolve"), AGENT_ACTION),
    ("POST", "/api/v1/cases/{ref}/merge", {"into": "{other}"}, nothing, AGENT_ACTION),
    # department actions (notes and resolve are agents' too)
    ("POST", "/api/v1/cases/{ref}/acknowledge", {"external_ref": "B-1"}, nothing, DEPARTMENT_ONLY),
    ("POST", "/api/v1/cases/{ref}/request-info", {"question": "Klantnummer?"}, nothing, DEPARTMENT_ONLY),
    ("POST", "/api/v1/cases/{ref}/reroute", {"reason": "niet van ons"}, nothing, DEPARTMENT_ONLY),
    ("POST", "/api/v1/cases/{ref}/notes", {"text": "bekeken"}, nothing, BOTH),
    ("POST", "/api/v1/cases/{ref}/resolve", {}, nothing, BOTH),
    # feeds, rules, deliveries, subscriptions, dead letters
    ("GET", "/api/v1/events", None, nothing, {**OPS, "ops": 403, "own": 200, "other": 200}),
    ("GET", "/api/v1/rules", None, nothing, OPS),
    ("POST", "/api/v1/rules/reload", None, nothing, OPS),
    ("POST", "/api/v1/rules/explain", {"mention": {"id": "e", "channel": "x", "text": "storing"}}, nothing, AGENT_UP),
    ("GET", "/api/v1/deliveries", None, nothing, LEAD),
    ("GET", "/api/v1/reports/routing", None, nothing, LEAD),
    ("GET", "/api/v1/reports/departments", None, nothing, LEAD),
    ("GET", "/api/v1/reports/channels", None, nothing, LEAD),
    ("GET", "/api/v1/reports/agents", None, nothing, LEAD),
    ("GET", "/api/v1/reports/workload", None, nothing, LEAD),
    # survey answers: users and integration tokens (tests/feedback), never department systems
    ("POST", "/api/v1/cases/{ref}/feedback", {"score": 9}, nothing, {**AGENT_UP, "other": 403}),
    ("POST", "/api/v1/deliveries/{delivery}/redeliver", None, Ctx.kill_deliveries, OPS),
    ("GET", "/api/v1/subscriptions", None, nothing, OPS),
    ("POST", "/api/v1/subscriptions/billing/enable", None, nothing, OPS),
    ("GET", "/api/v1/inbound/dead-letters", None, nothing, OPS),
    ("POST", "/api/v1/inbound/dead-letters/999999/replay", None, nothing, {**OPS, "ops": 404}),
    ("GET", "/api/v1/audit", None, nothing, OPS),
    # incidents: users only (departments hear of them through events)
    ("GET", "/api/v1/incidents", None, nothing, AGENT_UP),
    ("GET", "/api/v1/incidents/{incident}", None, Ctx.open_incident, AGENT_UP),
    ("POST", "/api/v1/incidents/{incident}/close", {}, Ctx.open_incident, AGENT_UP),
    ("POST", "/api/v1/incidents/{incident}/respond", {"text": "We kijken", "send": False}, Ctx.open_incident,
     AGENT_UP),
    ("POST", "/api/v1/departments/billing/ping", None, nothing, OPS),  # billing's webhook: 127.0.0.1:9, refused
    ("POST", "/api/v1/privacy/erasure", {"connector": "listening-tool", "author_id": "nobody"}, nothing, OPS),
    ("POST", "/api/v1/privacy/export", {"connector": "listening-tool", "author_id": "nobody"}, nothing, OPS),
]


def test_the_matrix_covers_every_api_endpoint(app) -> None:  # type: ignore[no-untyped-def]
    served = {(method.upper(), path) for path, ops in app.openapi()["paths"].items() if path.startswith("/api/v1")
              for method in ops}
    covered = {(method, path.replace("{delivery}", "{delivery_id}").replace("{incident}", "{incident_id}")
                .replace("999999", "{letter_id}")
                .replace("/billing/", "/{department}/"))
               for method, path, *_ in MATRIX}
    assert served == covered


@pytest.fixture
def tokens(sessions: sessionmaker[Session]) -> dict[str, str | None]:
    return {"none": None, "agent": make_user_token(sessions, "a1", "agent"),
            "lead": make_user_token(sessions, "l1", "lead"), "ops": make_user_token(sessions, "o1", "ops"),
            "own": make_department_token(sessions, "billing"), "other": make_department_token(sessions, "network")}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(("method", "path", "body", "setup", "expected"), MATRIX,
                         ids=[f"{m} {p}" for m, p, *_ in MATRIX])
def test_access(client: TestClient, signer: Signer, tokens: dict[str, str | None], session: Session, caller: str,
                method: str, path: str, body: Any, setup: Setup, expected: dict[str, int]) -> None:
    ctx = Ctx(client, signer, tokens, session)
    setup(ctx)
    if isinstance(body, dict) and body.get("into") == "{other}":
        body = {"into": ctx.other_ref}
    response = ctx.call(caller, method, path, body)
    assert response.status_code == expected[caller], (caller, response.text)
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"
    if response.status_code == 401:
        assert response.headers["www-authenticate"] == "Bearer"


def test_revoked_and_unknown_tokens_are_401(client: TestClient, sessions: sessionmaker[Session]) -> None:
    token = make_user_token(sessions, "gone", "ops")
    assert client.get("/api/v1/cases", headers={"authorization": f"Bearer {token}"}).status_code == 200
    with sessions() as session, session.begin():
        from app.auth.models import ApiToken

        row = session.scalars(select(ApiToken)).first()
        assert row is not None
        revoke_token(session, token_id=row.id, now=utc_now(), actor=SYSTEM)
    assert client.get("/api/v1/cases", headers={"authorization": f"Bearer {token}"}).status_code == 401
    assert client.get("/api/v1/cases", headers={"authorization": "Bearer wcr_nope"}).status_code == 401
    assert client.get("/api/v1/cases", headers={"authorization": "Basic abc"}).status_code == 401
