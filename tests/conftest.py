"""Shared fixtures: a migrated database (SQLite, or PostgreSQL when WEBCARE_TEST_DATABASE_URL names
one), a per-test transaction rolled back afterwards, and the app wired to it.

The same tests run on both databases: `.ci/run` runs the suite once without the variable and once
with `WEBCARE_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/<a database it created>`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from app.db import make_engine
from app.main import create_app
from app.migrate import upgrade_to_head
from app.settings import Settings
from tests.support import ApiClient, Signer, make_user_token

# Property tests in CI (`CI=true`, as `.ci/run` runs) draw the same examples on every run: a red CI is
# a bug in the change, never a lucky draw, and nothing depends on the machine's speed. Elsewhere they
# draw anew each run (and keep what failed in .hypothesis/), which finds more; `HYPOTHESIS_PROFILE=ci`
# reproduces CI's draws.
hypothesis_settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True,
                                     suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE")
                                 or ("ci" if os.environ.get("CI", "").lower() in ("true", "1") else "default"))

REPO = Path(__file__).resolve().parents[1]
BASIC_RULES = REPO / "tests" / "fixtures" / "routing_basic"
EXAMPLE_RULES = REPO / "routing_rules"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The database the suite runs against."""
    configured = os.environ.get("WEBCARE_TEST_DATABASE_URL")
    if configured:
        return configured
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'webcare.db'}"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on a database brought to the newest schema by the real migrations."""
    engine = make_engine(database_url)
    upgrade_to_head(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


@pytest.fixture
def sessions(connection: Connection) -> sessionmaker[Session]:
    """Sessions whose commits become savepoints of the test's transaction."""
    return sessionmaker(bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint")


@pytest.fixture
def session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    with sessions() as session:
        yield session


@pytest.fixture
def rules_dir() -> Path:
    """The rule folder the app under test loads; override in a module to use another."""
    return BASIC_RULES


@pytest.fixture
def settings(tmp_path: Path, rules_dir: Path) -> Settings:
    return Settings(env="development", rules_dir=rules_dir, var_dir=tmp_path / "var", log_format="text",
                    workers_enabled=False)


@pytest.fixture
def app(settings: Settings, engine: Engine, sessions: sessionmaker[Session]):  # type: ignore[no-untyped-def]
    return create_app(settings, engine=engine, sessions=sessions)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as client:
        yield client


@pytest.fixture
def signer(app) -> Signer:  # type: ignore[no-untyped-def]
    """Signs bodies for the `listening-tool` connector with the secret the app uses."""
    return Signer(app.state.secrets.get("TEST_LISTENING_SECRET", webhook=True))


@pytest.fixture
def api(client: TestClient, sessions: sessionmaker[Session]) -> ApiClient:
    """The HTTP client with an agent token."""
    return ApiClient(client, make_user_token(sessions, "agent-ann", "agent"))
