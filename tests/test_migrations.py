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


def test_four_processes_migrating_an_empty_database_at_once_all_succeed(tmp_path: Path) -> None:
    """Every replica migrates at start; four started together must neither fail nor double a step
    (before the advisory lock, three of four failed with a unique violation on PostgreSQL)."""
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    with scratch_database_url(tmp_path) as url:
        env = {**os.environ, "WEBCARE_DATABASE_URL": url, "WEBCARE_VAR_DIR": str(tmp_path / "var")}
        processes = [subprocess.Popen([sys.executable, "-m", "app", "migrate"], env=env, cwd=REPO,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                     for _ in range(4)]
        outputs = [process.communicate(timeout=120)[0] for process in processes]
        assert [process.returncode for process in processes] == [0, 0, 0, 0], outputs
        engine = make_engine(url)
        assert set(inspect(engine).get_table_names()) >= TABLES
        with engine.connect() as connection:
            from sqlalchemy import text

            versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        script_head = _script_head()
        assert versions == [script_head]
        engine.dispose()


def _script_head() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head
