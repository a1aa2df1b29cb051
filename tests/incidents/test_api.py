"""The incidents API on the real database: list, detail with cases, an agent's close, one reply to
every case (skipping cases that cannot be answered), and problem JSON for what is wrong."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.cases.models import CaseEvent
from app.db import transaction
from app.delivery.models import DepartmentEvent
from app.incidents.service import check_incidents
from tests.incidents.storm import STORM_START, Feed, storm, storm_rules
from tests.support import ApiClient, make_department_token

PROBLEM = "application/problem+json"


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    return storm_rules(tmp_path / "rules")


@pytest.fixture
def incident_id(app, sessions: sessionmaker[Session]) -> tuple[int, list[int]]:  # type: ignore[no-untyped-def]
    """An open incident of 25 storm cases (no history: min_count decides); with its case ids."""
    feed = Feed(sessions, app.state.rules.current)
    posts = storm(count=25, every=timedelta(seconds=2))
    feed.ingest(posts)
    with transaction(sessions) as session:
        result = check_incidents(session, feed.ruleset, now=posts[-1].at)
    [opened] = result.opened
    return opened, sorted(feed.case_of.values())


def test_list_and_detail_show_the_incident_and_its_cases(api: ApiClient, incident_id: tuple[int, list[int]]) -> None:
    opened, case_ids = incident_id
    listed = api.get("/api/v1/incidents").json()["items"]
    assert [(i["id"], i["watch"], i["title"], i["status"], i["case_count"]) for i in listed] == [
        (opened, "outage", "Storing", "open", 25)]
    assert api.get("/api/v1/incidents", params={"status": "closed"}).json()["items"] == []
    detail = api.get(f"/api/v1/incidents/{opened}").json()
    assert [c["ref"] for c in detail["cases"]] == [f"WC-{i:06d}" for i in case_ids]
    assert detail["opened_at"] == (STORM_START + timedelta(seconds=48)).isoformat().replace("+00:00", "Z")
    assert (detail["needed"], detail["peak"], detail["usual"]) == (20, 25, 0.0)


def test_an_agent_closes_it_once(api: ApiClient, incident_id: tuple[int, list[int]], session: Session) -> None:
    opened, _ = incident_id
    closed = api.post(f"/api/v1/incidents/{opened}/close", json={})
    assert closed.status_code == 200, closed.text
    assert (closed.json()["status"], closed.json()["closed_by"]) == ("closed", "agent-ann")
    again = api.post(f"/api/v1/incidents/{opened}/close", json={})
    assert again.status_code == 409 and again.headers["content-type"] == PROBLEM
    assert "closed already" in again.json()["detail"]
    types = session.scalars(select(DepartmentEvent.type).where(DepartmentEvent.type.like("incident.%"))
                            .order_by(DepartmentEvent.id)).all()
    assert types == ["incident.opened", "incident.closed"]


def test_one_reply_answers_every_case_and_skips_a_closed_one(api: ApiClient, incident_id: tuple[int, list[int]],
                                                            session: Session) -> None:
    opened, case_ids = incident_id
    first = f"WC-{case_ids[0]:06d}"
    assert api.post(f"/api/v1/cases/{first}/close", json={"reason": "dubbel"}).status_code == 200
    answer = api.post(f"/api/v1/incidents/{opened}/respond", json={"text": "We werken aan de storing.", "send": False})
    assert answer.status_code == 200, answer.text
    responses = answer.json()["responses"]
    assert responses[0]["case"] == first and responses[0]["outcome"] == "skipped"
    assert "closed" in responses[0]["reason"]
    assert [(r["outcome"], r["delivery"]) for r in responses[1:]] == [("responded", "recorded")] * 24
    texts = session.execute(select(CaseEvent.case_id, CaseEvent.data).where(CaseEvent.type == "responded")).all()
    assert sorted(case_id for case_id, _ in texts) == case_ids[1:]
    assert {data["text"] for _, data in texts} == {"We werken aan de storing."}


def test_respond_with_an_idempotency_key_answers_once(api: ApiClient, incident_id: tuple[int, list[int]],
                                                     session: Session) -> None:
    opened, case_ids = incident_id
    body = {"text": "Excuses voor de storing.", "send": False}
    key = {"Idempotency-Key": "incident-reply-1"}
    first = api.post(f"/api/v1/incidents/{opened}/respond", json=body, headers=key)
    again = api.post(f"/api/v1/incidents/{opened}/respond", json=body, headers=key)
    assert first.status_code == again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
    responded = session.scalars(select(CaseEvent.case_id).where(CaseEvent.type == "responded")).all()
    assert sorted(responded) == case_ids


@pytest.mark.parametrize(("method", "path", "body", "status"), [
    ("get", "/api/v1/incidents/999999", None, 404),
    ("post", "/api/v1/incidents/999999/close", {}, 404),
    ("post", "/api/v1/incidents/999999/respond", {"text": "x", "send": False}, 404),
    ("post", "/api/v1/incidents/{id}/respond", {"text": "", "send": False}, 422),
    ("post", "/api/v1/incidents/{id}/respond", {"text": "x"}, 422),
    ("post", "/api/v1/incidents/{id}/close", {"reason": "x"}, 422),
    ("get", "/api/v1/incidents?status=sleeping", None, 422),
])
def test_bad_requests_are_problems(api: ApiClient, incident_id: tuple[int, list[int]], method: str, path: str,
                                   body: dict | None, status: int) -> None:  # type: ignore[type-arg]
    url = path.replace("{id}", str(incident_id[0]))
    answer = api.get(url) if method == "get" else api.post(url, json=body)
    assert answer.status_code == status and answer.headers["content-type"] == PROBLEM, answer.text


def test_department_tokens_may_not_read_or_answer_incidents(api: ApiClient, sessions: sessionmaker[Session],
                                                            incident_id: tuple[int, list[int]]) -> None:
    billing = ApiClient(api.client, make_department_token(sessions, "billing"))
    for answer in (billing.get("/api/v1/incidents"), billing.get(f"/api/v1/incidents/{incident_id[0]}"),
                   billing.post(f"/api/v1/incidents/{incident_id[0]}/respond", json={"text": "x", "send": False})):
        assert answer.status_code == 403 and answer.headers["content-type"] == PROBLEM


def test_the_open_incident_is_a_metric(api: ApiClient, incident_id: tuple[int, list[int]]) -> None:
    def open_gauge() -> list[float]:
        response = api.client.get("/metrics")
        return [s.value for family in text_string_to_metric_families(response.text) for s in family.samples
                if s.name == "webcare_incidents_open"]

    assert open_gauge() == [1.0]
    assert api.post(f"/api/v1/incidents/{incident_id[0]}/close", json={}).status_code == 200
    assert open_gauge() == [0.0]
