"""Tokens record when they were last used, to the minute, without a write on every request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.auth.models import ApiToken
from app.auth.service import last_use_is_stale, principal_for_token, token_digest
from tests.support import ApiClient

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_last_use_is_written_at_most_once_a_minute() -> None:
    assert last_use_is_stale(None, T0)
    assert not last_use_is_stale(T0, T0 + timedelta(seconds=59))
    assert last_use_is_stale(T0, T0 + timedelta(minutes=1))


def _last_used(sessions: sessionmaker[Session], token: str) -> datetime | None:
    with sessions() as session:
        return session.scalar(select(ApiToken.last_used_at).where(ApiToken.token_hash == token_digest(token)))


def test_a_request_records_the_tokens_last_use(api: ApiClient, sessions: sessionmaker[Session]) -> None:
    assert _last_used(sessions, api.token) is None
    assert api.get("/api/v1/cases").status_code == 200
    first = _last_used(sessions, api.token)
    assert first is not None and abs(datetime.now(UTC) - first) < timedelta(minutes=1)
    assert api.get("/api/v1/cases").status_code == 200
    assert _last_used(sessions, api.token) == first  # within the minute: not written again


def test_last_use_moves_on_after_a_minute(api: ApiClient, sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        assert principal_for_token(session, api.token, now=T0) is not None
        assert principal_for_token(session, api.token, now=T0 + timedelta(seconds=30)) is not None
    assert _last_used(sessions, api.token) == T0
    with sessions() as session, session.begin():
        principal_for_token(session, api.token, now=T0 + timedelta(minutes=2))
    assert _last_used(sessions, api.token) == T0 + timedelta(minutes=2)
