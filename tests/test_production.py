"""In production (WEBCARE_ENV=production): Secure cookies and HSTS always, secrets checked at the
start naming the variable, no API docs unless enabled; /metrics behind a token when one is set;
development files readable by their owner only."""

from __future__ import annotations

import base64
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.db import make_engine
from app.main import create_app, required_secrets
from app.rules import load_ruleset
from app.secrets import InvalidSecret, MissingSecret, SecretStore, private_directory, secret_problem
from app.settings import Settings
from tests.conftest import BASIC_RULES
from tests.ui.support import PASSWORD, csrf_of, make_user

GOOD_WEBHOOK = "whsec_" + base64.b64encode(b"k" * 32).decode()


@pytest.fixture
def production_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Every secret the test rules need, well-formed, in the environment."""
    values = {name: GOOD_WEBHOOK if webhook else "s" * 32
              for name, webhook in required_secrets(load_ruleset(BASIC_RULES))}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def production(settings: Settings, **changes: object) -> Settings:
    return settings.model_copy(update={"env": "production", **changes})


@pytest.fixture
def prod_client(settings: Settings, engine: Engine, sessions: sessionmaker[Session],
                production_env: dict[str, str]) -> Iterator[TestClient]:
    app = create_app(production(settings), engine=engine, sessions=sessions)
    with TestClient(app, base_url="https://testserver") as client:  # Secure cookies come back over HTTPS only
        yield client


def test_secret_forms() -> None:
    assert secret_problem(GOOD_WEBHOOK, webhook=True) is None
    assert "whsec_" in (secret_problem("x", webhook=True) or "")
    assert "not base64" in (secret_problem("whsec_***", webhook=True) or "")
    assert "24-64" in (secret_problem("whsec_" + base64.b64encode(b"k" * 8).decode(), webhook=True) or "")
    assert "at least 16" in (secret_problem("short", webhook=False) or "")


@pytest.mark.parametrize("bad", ["x", "whsec_c2hvcnQ="])
def test_a_malformed_webhook_secret_stops_the_start_naming_it(settings: Settings, engine: Engine,
                                                                production_env: dict[str, str],
                                                                monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    name = next(n for n, webhook in required_secrets(load_ruleset(BASIC_RULES)) if webhook)
    monkeypatch.setenv(name, bad)
    with pytest.raises(InvalidSecret, match=f"environment variable {name} "):
        create_app(production(settings), engine=engine)


def test_short_secrets_and_metrics_tokens_stop_the_start(settings: Settings, engine: Engine,
                                                         production_env: dict[str, str]) -> None:
    with pytest.raises(InvalidSecret, match="WEBCARE_METRICS_TOKEN is too short"):
        create_app(production(settings, metrics_token="abc"), engine=engine)
    store = SecretStore(production=True, var_dir=Path("/nonexistent"), environ={"APP_SECRET": "1"})
    with pytest.raises(InvalidSecret, match="APP_SECRET is too short"):
        store.get("APP_SECRET")
    with pytest.raises(MissingSecret, match="OTHER"):
        store.get("OTHER")


def test_development_accepts_what_it_generated_and_any_value(tmp_path: Path) -> None:
    assert SecretStore(production=False, var_dir=tmp_path, environ={"A": "1"}).get("A") == "1"


def test_production_cookies_are_secure_without_any_proxy_header(prod_client: TestClient,
                                                                sessions: sessionmaker[Session]) -> None:
    make_user(sessions, "ann")
    page = prod_client.get("/ui/login")
    assert "Secure" in page.headers["set-cookie"]
    answer = prod_client.post("/ui/login", data={"username": "ann", "password": PASSWORD,
                                                 "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert answer.status_code == 303 and "Secure" in answer.headers["set-cookie"]


def test_production_sends_hsts_on_every_response(prod_client: TestClient, client: TestClient) -> None:
    for path in ("/healthz", "/ui/login", "/api/v1/cases", "/nowhere"):
        assert prod_client.get(path).headers["strict-transport-security"].startswith("max-age=31536000")
    assert "strict-transport-security" not in client.get("/healthz").headers  # development: plain HTTP


def test_api_docs_are_off_in_production_unless_enabled(prod_client: TestClient, client: TestClient,
                                                      settings: Settings, engine: Engine,
                                                      production_env: dict[str, str]) -> None:
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert prod_client.get(path).status_code == 404
        assert client.get(path).status_code == 200
    enabled = create_app(production(settings, docs_enabled=True), engine=engine)
    with TestClient(enabled) as docs_client:
        assert docs_client.get("/docs").status_code == 200 and docs_client.get("/openapi.json").status_code == 200


def test_metrics_need_the_token_when_one_is_set(settings: Settings, engine: Engine,
                                                sessions: sessionmaker[Session], client: TestClient) -> None:
    token = "m" * 32
    app = create_app(settings.model_copy(update={"metrics_token": token}), engine=engine, sessions=sessions)
    with TestClient(app) as guarded:
        assert guarded.get("/metrics").status_code == 401
        assert guarded.get("/metrics", headers={"authorization": "Bearer wrong"}).status_code == 401
        assert guarded.get("/metrics", headers={"authorization": f"Bearer {token}"}).status_code == 200
    assert client.get("/metrics").status_code == 200  # no token set: open, as before


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_development_files_are_owner_only(tmp_path: Path) -> None:
    os.umask(0o022)
    var = tmp_path / "var"
    private_directory(var)
    assert mode(var) == 0o700
    SecretStore(production=False, var_dir=var).get("SOME_WEBHOOK_SECRET", webhook=True)
    assert mode(var / "secrets") == 0o700 and mode(var / "secrets" / "SOME_WEBHOOK_SECRET") == 0o600
    engine = make_engine(f"sqlite:///{var / 'db' / 'webcare.db'}")
    with engine.connect() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    engine.dispose()
    assert mode(var / "db") == 0o700 and mode(var / "db" / "webcare.db") == 0o600
