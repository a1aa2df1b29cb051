"""Expired idempotency keys and UI sessions are purged on a schedule, fresh ones kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.audit import SYSTEM
from app.auth.models import IdempotencyKey
from app.auth.service import add_user
from app.housekeeping import Housekeeper, expiry_cutoffs, purge_expired
from app.ui.models import UiSession
from app.web.idempotency import RETENTION
from app.workers import Workers

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_the_cutoffs_follow_the_lookups_rules() -> None:
    cutoffs = expiry_cutoffs(NOW)
    assert cutoffs.idempotency_created_before == NOW - RETENTION == NOW - timedelta(hours=24)
    assert cutoffs.sessions_expire_by == NOW
    assert cutoffs.login_failures_before == NOW - timedelta(days=1)


def test_purge_deletes_what_expired_and_keeps_the_rest(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        user = add_user(session, username="hk-ann", role="agent", password=None, now=NOW, actor=SYSTEM)
        for key, age in (("old", RETENTION + timedelta(seconds=1)), ("fresh", RETENTION - timedelta(seconds=1))):
            session.add(IdempotencyKey(owner="hk", key=key, request_hash="0" * 64, status_code=200,
                                       response={"body": {}}, created_at=NOW - age))
        for name, expires in (("gone", NOW), ("live", NOW + timedelta(seconds=1))):
            session.add(UiSession(token_hash=name.ljust(64, "0"), user_id=user.id, csrf_token=name,
                                  created_at=NOW - timedelta(hours=12), expires_at=expires))
    with sessions() as session, session.begin():
        assert purge_expired(session, now=NOW) == {"idempotency_keys": 1, "ui_sessions": 1, "login_failures": 0}
    with sessions() as session:
        assert session.scalars(select(IdempotencyKey.key).where(IdempotencyKey.owner == "hk")).all() == ["fresh"]
        assert session.scalars(select(UiSession.csrf_token).where(UiSession.user_id == user.id)).all() == ["live"]
    with sessions() as session, session.begin():
        assert purge_expired(session, now=NOW) == {"idempotency_keys": 0, "ui_sessions": 0, "login_failures": 0}


def test_every_worker_process_runs_the_purge(app) -> None:  # type: ignore[no-untyped-def]
    workers = Workers(app.state.sessions, app.state.rules, app.state.secrets)
    assert any(isinstance(worker, Housekeeper) for worker in workers.workers)
