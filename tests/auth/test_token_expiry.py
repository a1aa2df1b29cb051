"""Tokens that can be given an expiry: an expired token is refused like a revoked one, a token not
yet expired works, and `webcare tokens create --expires-in` sets and `tokens list` shows it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.audit import SYSTEM
from app.auth.models import ApiToken
from app.auth.service import AuthError, create_token, get_user
from app.kernel.clock import utc_now
from tests.auth.test_cli import env, webcare  # noqa: F401  (the CLI fixture)
from tests.support import make_user_token


def test_an_expired_token_is_refused_and_a_valid_one_works(client: TestClient, sessions: sessionmaker[Session]) -> None:
    make_user_token(sessions, "exp-ann", "agent")
    with sessions() as session, session.begin():
        now = utc_now()
        user = get_user(session, "exp-ann")
        row, token = create_token(session, now=now, actor=SYSTEM, user=user, expires_at=now + timedelta(hours=1))
        token_id = row.id
    headers = {"authorization": f"Bearer {token}"}
    assert client.get("/api/v1/cases", headers=headers).status_code == 200
    with sessions() as session, session.begin():  # an hour passes
        token_row = session.get(ApiToken, token_id)
        assert token_row is not None
        token_row.expires_at = utc_now() - timedelta(seconds=1)
    refused = client.get("/api/v1/cases", headers=headers)
    assert refused.status_code == 401
    assert "expired" in refused.json()["detail"]


def test_a_token_cannot_be_made_already_expired(session: Session) -> None:
    now = utc_now()
    with pytest.raises(AuthError, match="expire in the future"):
        create_token(session, now=now, actor=SYSTEM, department="billing", expires_at=now)


def test_tokens_create_with_expires_in_and_list_show_it(env: dict[str, str]) -> None:  # noqa: F811
    assert webcare(env, "users", "add", "ann", "--role", "agent", "--password", "correct horse battery").returncode == 0
    created = webcare(env, "tokens", "create", "--user", "ann", "--expires-in", "90d")
    assert created.returncode == 0, created.stderr
    assert "expires" in created.stderr and created.stdout.strip()
    expected_day = (utc_now() + timedelta(days=90)).strftime("%Y-%m-%d")
    listed = webcare(env, "tokens", "list")
    assert f"expires {expected_day}" in listed.stdout
    bad = webcare(env, "tokens", "create", "--user", "ann", "--expires-in", "soon")
    assert bad.returncode == 2 and "--expires-in" in bad.stderr
