"""`webcare users` and `webcare tokens` as processes: success and every refusal exits 1 with a reason."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.db import make_engine
from app.migrate import upgrade_to_head
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
