"""`POST /api/v1/cases/{ref}/feedback`: one answer per case, from a survey tool's integration
token (which may do nothing else) or an agent; `feedback.received` to the owning department."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.audit import SYSTEM
from app.auth.service import create_token
from app.delivery.models import DepartmentEvent
from app.feedback.models import CaseFeedback
from app.kernel.clock import utc_now
from tests.conftest import REPO
from tests.sla.test_case_timers import open_case
from tests.support import ApiClient, Signer, make_department_token


def integration_token(sessions: sessionmaker[Session], name: str = "survey-tool") -> str:
    with sessions() as session, session.begin():
        _, token = create_token(session, now=utc_now(), actor=SYSTEM, integration=name)
    return token


def test_a_survey_tool_records_the_answer_and_billing_hears_of_it(
        client: TestClient, signer: Signer, api: ApiClient, sessions: sessionmaker[Session]) -> None:
    ref = open_case(client, signer)  # billing owns it
    assert api.post(f"/api/v1/cases/{ref}/respond", json={"text": "Opgelost!", "send": False}).status_code == 200
    survey = ApiClient(client, integration_token(sessions))
    answer = survey.post(f"/api/v1/cases/{ref}/feedback", json={"score": 9, "csat": 5, "comment": "snel"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert {k: body[k] for k in ("case", "score", "csat", "comment", "department", "channel", "replaced")} == {
        "case": ref, "score": 9, "csat": 5, "comment": "snel", "department": "billing", "channel": "x",
        "replaced": False}
    assert body["source"] == {"type": "integration", "name": "survey-tool"}
    assert body["agent"] is not None  # the user behind `api`, who sent the last response
    with sessions() as session:
        events = session.scalars(select(DepartmentEvent).where(DepartmentEvent.type == "feedback.received")).all()
    assert [(e.department, e.body["data"]["feedback"]["score"]) for e in events] == [("billing", 9)]


def test_a_second_answer_replaces_the_first_and_both_stay_in_the_timeline(
        client: TestClient, signer: Signer, api: ApiClient, sessions: sessionmaker[Session]) -> None:
    ref = open_case(client, signer)
    assert api.post(f"/api/v1/cases/{ref}/feedback", json={"score": 3}).json()["replaced"] is False
    second = api.post(f"/api/v1/cases/{ref}/feedback", json={"score": 10, "csat": 4})
    assert second.json()["replaced"] is True
    with sessions() as session:
        stored = session.scalars(select(CaseFeedback)).all()
    assert [(f.score, f.csat, f.agent) for f in stored] == [(10, 4, None)]  # no one responded yet
    entries = [e for e in api.get(f"/api/v1/cases/{ref}").json()["timeline"] if e["type"] == "feedback_received"]
    assert [(e["data"]["score"], (e["data"]["replaces"] or {}).get("score")) for e in entries] == [(3, None), (10, 3)]


@pytest.mark.parametrize("body", [{"score": 11}, {"score": -1}, {"score": 7, "csat": 0}, {"score": 7, "csat": 6},
                                  {}, {"score": "ten"}, {"score": 7, "extra": 1}])
def test_bad_answers_are_422_problems(client: TestClient, signer: Signer, api: ApiClient,
                                      body: dict[str, Any]) -> None:
    ref = open_case(client, signer)
    answer = api.post(f"/api/v1/cases/{ref}/feedback", json=body)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_unknown_case_is_404_and_a_department_token_is_403(client: TestClient, signer: Signer, api: ApiClient,
                                                           sessions: sessionmaker[Session]) -> None:
    assert api.post("/api/v1/cases/WC-999999/feedback", json={"score": 5}).status_code == 404
    ref = open_case(client, signer)
    billing = ApiClient(client, make_department_token(sessions, "billing"))
    answer = billing.post(f"/api/v1/cases/{ref}/feedback", json={"score": 5})
    assert answer.status_code == 403 and answer.headers["content-type"].startswith("application/problem+json")


def test_an_integration_token_can_do_nothing_but_post_feedback(client: TestClient, signer: Signer,
                                                                sessions: sessionmaker[Session]) -> None:
    """Every other `/api/v1` operation in openapi.yaml: 403 problem JSON (never an answer, never a change)."""
    ref = open_case(client, signer)
    survey = ApiClient(client, integration_token(sessions))
    paths = yaml.safe_load((REPO / "openapi.yaml").read_text())["paths"]
    tried = 0
    for path, operations in paths.items():
        if not path.startswith("/api/v1") or path == "/api/v1/cases/{ref}/feedback":
            continue
        concrete = re.sub(r"\{[a-z_]+\}", "1", path.replace("{ref}", ref))
        for method in operations:
            answer = client.request(method.upper(), concrete, json={},
                                    headers={"authorization": f"Bearer {survey.token}"})
            assert answer.status_code == 403, (method, path, answer.status_code, answer.text)
            assert answer.headers["content-type"].startswith("application/problem+json")
            tried += 1
    assert tried >= 20  # the operations were really walked
    assert survey.post(f"/api/v1/cases/{ref}/feedback", json={"score": 8}).status_code == 200
