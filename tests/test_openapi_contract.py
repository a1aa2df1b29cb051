"""The committed OpenAPI document is the truth: real responses of the service (successes and
errors) and the real bodies of outbound events validate against it, every status the service
answers with is documented for its operation, and errors are documented as problem JSON."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from httpx import Response
from jsonschema import Draft202012Validator
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.delivery.models import DepartmentEvent
from tests.conftest import REPO
from tests.support import Signer, make_department_token, make_user_token, mention, post_mentions

DOCUMENT: dict[str, Any] = yaml.safe_load((REPO / "openapi.yaml").read_text())


def validate(schema: dict[str, Any], instance: Any) -> None:
    """Validate against a schema of DOCUMENT, its `#/components/...` references resolved."""
    root = {**schema, "components": DOCUMENT["components"]}
    errors = sorted(Draft202012Validator(root).iter_errors(instance), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def check(response: Response, method: str, template: str) -> None:
    """The response is documented for that operation and its body fits the documented schema."""
    operation = DOCUMENT["paths"][template][method]
    status = str(response.status_code)
    assert status in operation["responses"], f"{method.upper()} {template} answered undocumented {status}"
    content = operation["responses"][status].get("content")
    if not content:
        return
    media_type = response.headers["content-type"].split(";")[0]
    assert media_type in content, (media_type, list(content))
    validate(content[media_type]["schema"], response.json())


@pytest.fixture
def agent(sessions: sessionmaker[Session]) -> dict[str, str]:
    return {"authorization": f"Bearer {make_user_token(sessions, 'oas-agent', 'agent')}"}


def test_real_responses_fit_the_document(client: TestClient, signer: Signer, agent: dict[str, str],
                                         sessions: sessionmaker[Session]) -> None:
    ingest = post_mentions(client, signer, {"mentions": [mention("Dubbel afgeschreven voor mijn factuur!"),
                                                         mention("Hoe laat zijn jullie open?")]})
    check(ingest, "post", "/webhooks/{connector}")
    billing_ref, webcare_ref = ingest.json()["cases"]
    check(post_mentions(client, signer, {"id": "x"}), "post", "/webhooks/{connector}")          # 422
    check(client.post("/webhooks/listening-tool", content=b"{}"), "post", "/webhooks/{connector}")  # 401

    check(client.get("/api/v1/cases"), "get", "/api/v1/cases")                                 # 401
    check(client.get("/api/v1/cases", headers=agent), "get", "/api/v1/cases")
    check(client.get(f"/api/v1/cases/{billing_ref}", headers=agent), "get", "/api/v1/cases/{ref}")
    check(client.get("/api/v1/cases/WC-999999", headers=agent), "get", "/api/v1/cases/{ref}")   # 404
    check(client.post(f"/api/v1/cases/{webcare_ref}/claim", json={}, headers=agent),
          "post", "/api/v1/cases/{ref}/claim")
    check(client.post(f"/api/v1/cases/{webcare_ref}/close", json={}, headers=agent),
          "post", "/api/v1/cases/{ref}/close")                                                  # 422
    check(client.post(f"/api/v1/cases/{webcare_ref}/resume", json={}, headers=agent),
          "post", "/api/v1/cases/{ref}/resume")                                                 # 409
    billing = {"authorization": f"Bearer {make_department_token(sessions, 'billing')}"}
    check(client.post(f"/api/v1/cases/{billing_ref}/acknowledge", json={"external_ref": "B-1"}, headers=billing),
          "post", "/api/v1/cases/{ref}/acknowledge")
    check(client.post(f"/api/v1/cases/{webcare_ref}/acknowledge", json={}, headers=billing),
          "post", "/api/v1/cases/{ref}/acknowledge")                                            # 404
    check(client.get("/api/v1/events", headers=billing), "get", "/api/v1/events")
    check(client.get("/api/v1/deliveries", headers=agent), "get", "/api/v1/deliveries")         # 403
    check(client.get("/api/v1/rules", headers=agent), "get", "/api/v1/rules")                   # 403
    check(client.get("/healthz"), "get", "/healthz")


def test_405_is_problem_json_with_allow(client: TestClient) -> None:
    response = client.put("/healthz")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    assert response.headers["content-type"].startswith("application/problem+json")
    validate({"$ref": "#/components/schemas/Problem"}, response.json())


def test_every_error_response_is_documented_as_problem_json_and_api_needs_a_bearer_token() -> None:
    assert "HTTPValidationError" not in DOCUMENT["components"]["schemas"]
    assert DOCUMENT["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": DOCUMENT["components"]["securitySchemes"]
        ["bearerAuth"]["description"]}
    errors = 0
    for path, operations in DOCUMENT["paths"].items():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                if status[0] in "45":
                    errors += 1
                    assert response["content"] == {"application/problem+json": {
                        "schema": {"$ref": "#/components/schemas/Problem"}}}, (path, status)
            if path.startswith("/api/v1"):
                assert operation["security"] == [{"bearerAuth": []}]
                assert {"401", "403"} <= set(operation["responses"])
    assert errors > 50


def test_every_outbound_event_body_fits_its_webhook_schema(client: TestClient, signer: Signer,
                                                         agent: dict[str, str], session: Session) -> None:
    ingest = post_mentions(client, signer, mention("Mijn factuur klopt niet, wil mijn geld terug"))
    ref = ingest.json()["cases"][0]
    client.post(f"/api/v1/cases/{ref}/notes", json={"text": "kijken we naar"}, headers=agent)
    client.post(f"/api/v1/cases/{ref}/resolve", json={"resolution": "terugbetaald"}, headers=agent)
    bodies = session.scalars(select(DepartmentEvent.body)).all()
    assert {body["type"] for body in bodies} >= {"case.handed_off", "case.resolved"}
    for body in bodies:
        assert body["version"] == 1
        schema = DOCUMENT["webhooks"][body["type"]]["post"]["requestBody"]["content"]["application/json"]["schema"]
        validate(schema, body)
    assert set(DOCUMENT["webhooks"]) >= {"case.handed_off", "sla.breached", "case.notified"}
