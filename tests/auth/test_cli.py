"""`webcare users` and `webcare tokens` as processes: success and every refusal exits 1 with a reason."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from app.audit.models import AuditEntry
from app.cli import cli
from app.db import make_engine
from app.migrate import upgrade_to_head
from app.settings import get_settings
from tests.conftest import EXAMPLE_RULES, REPO
from tests.dbutil import scratch_database_url


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    with scratch_database_url(tmp_path) as url:
        engine = make_engine(url)
        upgrade_to_head(engine)
        engine.dispose()
        yield {**os.environ, "WEBCARE_DATABASE_URL": url, "WEBCARE_VAR_DIR": str(tmp_path / "var"),
               "WEBCARE_RULES_DIR": str(EXAMPLE_RULES)}


def webcare(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=60)


def test_users_and_tokens(env: dict[str, str]) -> None:
    assert webcare(env, "users", "add", "ann", "--role", "agent", "--password", "correct horse battery").returncode == 0
    for args, reason in [
        (("users", "add", "ann", "--role", "agent", "--password", "correct horse battery"), "user ann exists"),
        (("users", "add", "bob", "--role", "boss", "--password", "correct horse battery"), "role must be one of"),
        (("users", "add", "bob", "--role", "agent", "--password", "short"), "at least 10 characters"),
        (("users", "passwd", "ghost", "--password", "correct horse battery"), "no user ghost"),
        (("tokens", "create", "--department", "marketing"), "no department 'marketing'"),
        (("tokens", "revoke", "99"), "no token 99"),
    ]:
        refused = webcare(env, *args)
        assert refused.returncode == 1, args
        assert reason in refused.stderr, (args, refused.stderr)
    created = webcare(env, "tokens", "create", "--user", "ann", "--label", "laptop")
    assert created.returncode == 0 and created.stdout.startswith("wcr_") and created.stdout.count("\n") == 1
    assert "never used" in webcare(env, "tokens", "list").stdout
    assert webcare(env, "users", "deactivate", "ann").returncode == 0
    listed = webcare(env, "tokens", "list").stdout
    assert "user:ann" in listed and "revoked" in listed and "laptop" in listed
    assert created.stdout.strip() not in listed  # never the token itself
    refused = webcare(env, "tokens", "create", "--user", "ann")
    assert refused.returncode == 1 and "deactivated" in refused.stderr
    assert webcare(env, "tokens", "create").returncode == 2



def test_cli_changes_are_audited_with_the_account_that_ran_them(env: dict[str, str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WEBCARE_DATABASE_URL", "WEBCARE_VAR_DIR", "WEBCARE_RULES_DIR"):
        monkeypatch.setenv(name, env[name])
    monkeypatch.setenv("SUDO_USER", "piet")  # run through sudo: the person, not root
    get_settings.cache_clear()

    def run(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args))

    try:
        assert run("users", "add", "ann", "--role", "agent", "--password", "correct horse battery").exit_code == 0
        assert run("users", "role", "ann", "lead").exit_code == 0
        role_again = run("users", "role", "ann", "lead")
        assert role_again.exit_code == 0 and "unchanged" in role_again.stderr
        refused = run("users", "role", "ann", "boss")
        assert refused.exit_code == 1 and "role must be one of" in refused.stderr
        assert run("users", "passwd", "ann", "--password", "another horse battery").exit_code == 0
        token = run("tokens", "create", "--department", "billing", "--label", "crm", "--expires-in", "30d")
        assert token.exit_code == 0, token.output
        token_id = token.stderr.split()[1]
        assert run("tokens", "revoke", token_id).exit_code == 0
        assert run("tokens", "revoke", token_id).exit_code == 0  # revoked already: no second entry
        assert run("users", "deactivate", "ann").exit_code == 0
        survey = run("tokens", "create", "--integration", "survey-tool")
        assert survey.exit_code == 0, survey.output
    finally:
        get_settings.cache_clear()

    engine = make_engine(env["WEBCARE_DATABASE_URL"])
    try:
        with Session(engine) as session:
            rows = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    finally:
        engine.dispose()
    assert {(r.actor_type, r.actor) for r in rows} == {("cli", "piet")}
    assert [(r.action, r.target) for r in rows] == [
        ("user.created", "user:ann"), ("user.role_changed", "user:ann"), ("user.password_reset", "user:ann"),
        ("token.created", f"token:{token_id}"), ("token.revoked", f"token:{token_id}"),
        ("user.deactivated", "user:ann"), ("token.created", f"token:{survey.stderr.split()[1]}")]
    created, role, passwd, made, revoked, gone, integration = (r.details for r in rows)
    assert created == {"role": "agent", "via": "cli"}
    assert role == {"role_before": "agent", "role": "lead", "via": "cli"}
    assert passwd == {"must_change_password": False, "via": "cli"}
    assert made["owner"] == "department:billing" and made["label"] == "crm" and made["expires_at"]
    assert token.stdout.strip() not in str(made) and token.stdout.strip()[:12] not in str(made)
    assert revoked == {"owner": "department:billing", "via": "cli"}
    assert gone == {"tokens_revoked": 0, "via": "cli"}
    assert integration["owner"] == "integration:survey-tool"
