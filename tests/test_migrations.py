"""The Alembic migrations are the schema: up, down and up again on a database of their own."""

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from alembic import command
from sqlalchemy import inspect, select

from app.auth.models import User
from app.db import make_engine
from app.migrate import alembic_config, upgrade_to_head
from tests.dbutil import scratch_database_url

TABLES = {"users", "api_tokens", "idempotency_keys", "cases", "case_tags", "case_owners", "case_events", "mentions"}


def test_upgrade_downgrade_upgrade(tmp_path: Path) -> None:
    with scratch_database_url(tmp_path) as url:
        engine = make_engine(url)
        upgrade_to_head(engine)
        assert set(inspect(engine).get_table_names()) >= TABLES
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
        assert not TABLES & set(inspect(engine).get_table_names())
        upgrade_to_head(engine)
        assert set(inspect(engine).get_table_names()) >= TABLES
        engine.dispose()


def test_timestamps_come_back_as_the_same_instant_in_utc(session) -> None:  # type: ignore[no-untyped-def]
    amsterdam = timezone(timedelta(hours=1))
    moment = datetime(2026, 3, 2, 10, 15, 30, 123456, tzinfo=amsterdam)
    session.add(User(username="tz", role="agent", created_at=moment, password_hash=None))
    session.flush()
    session.expire_all()
    stored = session.scalar(select(User.created_at).where(User.username == "tz"))
    assert stored == moment and stored.tzinfo is not None and stored.utcoffset() == timedelta(0)
    assert stored.astimezone(UTC).isoformat() == "2026-03-02T09:15:30.123456+00:00"
