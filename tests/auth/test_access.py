"""Every /api/v1 endpoint with no token, each role and department tokens (SPEC §2 "Auth")."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.auth.service import revoke_token
from app.mentions.schema import utc_now
from tests.support import Signer, make_department_token, make_user_token, mention, post_mentions

EXPLAIN = {"mention": {"id": "e", "channel": "x", "text": "storing"}}

# (method, path, body) -> expected status per caller. "own"/"other" are department tokens of the
# case's owner and of another department.
MATRIX = [
    (("GET", "/api/v1/cases", None), {"none": 401, "agent": 200, "lead": 200, "ops": 200, "own": 200, "other": 200}),
    (("GET", "/api/v1/cases/{ref}", None),
     {"none": 401, "agent": 200, "lead": 200, "ops": 200, "own": 200, "other": 404}),
    (("GET", "/api/v1/rules", None), {"none": 401, "agent": 403, "lead": 403, "ops": 200, "own": 403, "other": 403}),
    (("POST", "/api/v1/rules/reload", None),
     {"none": 401, "agent": 403, "lead": 403, "ops": 200, "own": 403, "other": 403}),
    (("POST", "/api/v1/rules/explain", EXPLAIN),
     {"none": 401, "agent": 200, "lead": 200, "ops": 200, "own": 403, "other": 403}),
]


@pytest.fixture
def tokens(sessions: sessionmaker[Session]) -> dict[str, str | None]:
    return {"none": None, "agent": make_user_token(sessions, "a1", "agent"),
            "lead": make_user_token(sessions, "l1", "lead"), "ops": make_user_token(sessions, "o1", "ops"),
            "own": make_department_token(sessions, "network"), "other": make_department_token(sessions, "billing")}


@pytest.mark.parametrize(("request_", "expected"), MATRIX, ids=[f"{m} {p}" for (m, p, _), _ in MATRIX])
def test_access_matrix(client: TestClient, signer: Signer, tokens: dict[str, str | None],
                       request_: tuple[str, str, object], expected: dict[str, int]) -> None:
    ref = post_mentions(client, signer, mention("storing")).json()["cases"][0]  # owned by network
    method, path, body = request_
    for caller, status in expected.items():
        token = tokens[caller]
        headers = {"authorization": f"Bearer {token}"} if token else {}
        response = client.request(method, path.format(ref=ref), json=body, headers=headers)
        assert response.status_code == status, (caller, response.text)
        if status >= 400:
            assert response.headers["content-type"] == "application/problem+json"
        if status == 401:
            assert response.headers["www-authenticate"] == "Bearer"


def test_revoked_and_unknown_tokens_are_401(client: TestClient, sessions: sessionmaker[Session]) -> None:
    token = make_user_token(sessions, "gone", "ops")
    ok = client.get("/api/v1/cases", headers={"authorization": f"Bearer {token}"})
    assert ok.status_code == 200
    with sessions() as session, session.begin():
        from sqlalchemy import select

        from app.auth.models import ApiToken

        row = session.scalars(select(ApiToken)).first()
        assert row is not None
        revoke_token(session, token_id=row.id, now=utc_now())
    assert client.get("/api/v1/cases", headers={"authorization": f"Bearer {token}"}).status_code == 401
    assert client.get("/api/v1/cases", headers={"authorization": "Bearer wcr_nope"}).status_code == 401
    assert client.get("/api/v1/cases", headers={"authorization": "Basic abc"}).status_code == 401
