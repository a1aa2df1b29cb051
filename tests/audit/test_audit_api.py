"""`GET /api/v1/audit`: ops only, filters, keyset pages; `record` keeps secrets and customers'
personal data out and commits or rolls back with the change it describes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.audit import SYSTEM, Actor, record
from app.audit.models import AuditEntry
from tests.support import ApiClient, make_department_token, make_user_token

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
WINDOW = {"from": T0.isoformat(), "to": (T0 + timedelta(days=1)).isoformat()}  # not the fixtures' tokens (now)


@pytest.fixture
def ops(client: TestClient, sessions: sessionmaker[Session]) -> ApiClient:
    return ApiClient(client, make_user_token(sessions, "ops-olga", "ops"))


def entries(sessions: sessionmaker[Session], n: int) -> None:
    """`n` entries an hour apart from T0, by two people and the system, of two actions."""
    with sessions() as session, session.begin():
        for i in range(n):
            actor = (Actor("user", "olga", "api"), Actor("cli", "root", "cli"), SYSTEM)[i % 3]
            record(session, actor, "token.revoked" if i % 2 else "user.created", f"user:u{i}", {"n": i},
                   T0 + timedelta(hours=i))


def test_only_ops_read_the_log(client: TestClient, sessions: sessionmaker[Session]) -> None:
    for token in (make_user_token(sessions, "agent-ann", "agent"), make_user_token(sessions, "lead-lotte", "lead"),
                  make_department_token(sessions, "billing")):
        refused = client.get("/api/v1/audit", headers={"authorization": f"Bearer {token}"})
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["detail"] == "requires role ops"
    anonymous = client.get("/api/v1/audit")
    assert anonymous.status_code == 401 and anonymous.headers["content-type"] == "application/problem+json"
    ops = ApiClient(client, make_user_token(sessions, "ops-olga", "ops"))
    assert ops.get("/api/v1/audit").status_code == 200


def test_filters_by_time_actor_and_action(ops: ApiClient, sessions: sessionmaker[Session]) -> None:
    entries(sessions, 6)

    def targets(**params: object) -> list[str]:
        response = ops.get("/api/v1/audit", params={**WINDOW, **params})
        assert response.status_code == 200, response.text
        return [e["target"] for e in response.json()["items"]]

    assert targets() == [f"user:u{i}" for i in range(5, -1, -1)]  # newest first
    assert targets(to=(T0 + timedelta(hours=2)).isoformat()) == ["user:u1", "user:u0"]  # `to` is exclusive
    assert targets(**{"from": (T0 + timedelta(hours=4)).isoformat()}) == ["user:u5", "user:u4"]
    assert targets(actor="root") == ["user:u4", "user:u1"]
    assert targets(actor=["root", "system"]) == ["user:u5", "user:u4", "user:u2", "user:u1"]
    assert targets(action="token.revoked") == ["user:u5", "user:u3", "user:u1"]
    assert targets(action="token.revoked", actor="olga") == ["user:u3"]
    [entry] = ops.get("/api/v1/audit", params={"actor": "root", "action": "user.created", **WINDOW}
                      ).json()["items"]
    assert entry["actor_type"] == "cli" and entry["details"] == {"n": 4, "via": "cli"}
    assert datetime.fromisoformat(entry["at"]) == T0 + timedelta(hours=4)


def test_pages_follow_the_cursor_without_gaps_or_repeats(ops: ApiClient, sessions: sessionmaker[Session]) -> None:
    entries(sessions, 7)
    seen: list[str] = []
    params: dict[str, object] = {"limit": 3, **WINDOW}
    while True:
        page = ops.get("/api/v1/audit", params=params).json()
        seen += [e["target"] for e in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
        entries(sessions, 1)  # added meanwhile at T0: newer ids, never on a later page
    assert seen == [f"user:u{i}" for i in range(6, -1, -1)]


@pytest.mark.parametrize(("params", "field"), [
    ({"action": "user.exploded"}, "action"),
    ({"cursor": "bm90LWEtY3Vyc29y"}, "cursor"),
    ({"from": "2026-12-01T10:00:00+00:00", "to": "2026-12-01T09:00:00+00:00"}, "to"),
    ({"from": "2026-12-01T10:00:00"}, "from"),  # no offset: ambiguous
    ({"limit": 201}, "limit"),
])
def test_bad_parameters_are_problems_naming_the_parameter(ops: ApiClient, params: dict[str, str], field: str) -> None:
    response = ops.get("/api/v1/audit", params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert any(field in e["field"] for e in response.json()["errors"]), response.json()


@pytest.mark.parametrize("key", ["password", "token", "secret", "text", "handle", "author"])
def test_record_refuses_secrets_and_customer_data(session: Session, key: str) -> None:
    with pytest.raises(ValueError, match=key):
        record(session, SYSTEM, "user.created", "user:x", {key: "x"}, T0)


def test_record_refuses_unknown_actions_and_actor_types(session: Session) -> None:
    with pytest.raises(ValueError, match="unknown audit action"):
        record(session, SYSTEM, "user.exploded", "user:x", {}, T0)
    with pytest.raises(ValueError, match="unknown actor type"):
        record(session, Actor("robot", "r2"), "user.created", "user:x", {}, T0)


def test_an_entry_rolls_back_with_its_change(sessions: sessionmaker[Session]) -> None:
    def count() -> int:
        with sessions() as session:
            return session.scalar(select(func.count()).select_from(AuditEntry)
                                  .where(AuditEntry.target == "user:gone")) or 0

    with pytest.raises(RuntimeError), sessions() as session, session.begin():
        record(session, SYSTEM, "user.created", "user:gone", {}, T0)
        raise RuntimeError("the change failed")
    assert count() == 0
    with sessions() as session, session.begin():
        record(session, SYSTEM, "user.created", "user:gone", {}, T0)
    assert count() == 1
