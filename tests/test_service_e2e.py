"""The README's path, through real processes: `webcare serve`, `webcare tokens create`, `webcare send`,
a live HTTP server and its database (PostgreSQL when the suite runs on it, else SQLite)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from app.delivery.signing import sign_payload
from tests.conftest import EXAMPLE_RULES, REPO
from tests.dbutil import scratch_database_url

pytestmark = pytest.mark.slow
WEBCARE = [sys.executable, "-m", "app"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def start_service(tmp_path: Path, rules: Path = EXAMPLE_RULES, extra_env: dict[str, str] | None = None,
                  database_url: str | None = None) -> Iterator[dict[str, str]]:
    """A live `webcare serve` on a free port with a database of its own (or `database_url`);
    yields its environment (with `base`, the URL, and `pid`) once `/readyz` answers, and stops it after."""
    if database_url is None:
        with scratch_database_url(tmp_path) as url, start_service(tmp_path, rules, extra_env, url) as env:
            yield env
        return
    process, env = launch_service(tmp_path, rules, extra_env, database_url)
    try:
        yield env
    finally:
        process.terminate()
        process.wait(timeout=40)


def launch_service(tmp_path: Path, rules: Path = EXAMPLE_RULES, extra_env: dict[str, str] | None = None,
                   database_url: str = "", args: tuple[str, ...] = (),
                   ) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """A `webcare serve` process on a free port, ready (`/readyz` answered 200); logs in serve.log.
    The caller stops it."""
    port = free_port()
    env = {**os.environ, "WEBCARE_DATABASE_URL": database_url, "WEBCARE_VAR_DIR": str(tmp_path / "var"),
           "WEBCARE_RULES_DIR": str(rules), "WEBCARE_PORT": str(port), "WEBCARE_LOG_FORMAT": "json",
           **(extra_env or {})}
    with (tmp_path / "serve.log").open("a") as log:
        process = subprocess.Popen([*WEBCARE, "serve", *args], env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError("service did not become ready:\n" + (tmp_path / "serve.log").read_text())
        time.sleep(0.2)
    return process, {"base": base, "pid": str(process.pid), **env}


@pytest.fixture
def service(tmp_path: Path) -> Iterator[dict[str, str]]:
    with start_service(tmp_path) as env:
        yield env


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*WEBCARE, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=60)


def test_a_mention_sent_with_webcare_send_becomes_a_routed_case(service: dict[str, str]) -> None:
    env, base = service, service["base"]
    assert run(env, "users", "add", "ann", "--role", "agent", "--password", "correct horse battery").returncode == 0
    created = run(env, "tokens", "create", "--user", "ann", "--label", "e2e")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("wcr_") and "\n" not in token
    auth = {"authorization": f"Bearer {token}"}

    sent = run(env, "send", "--url", base, "--connector", "listening-tool", "--handle", "@jan",
               "--text", "Al 3 uur STORING bij jullie in Utrecht, geen internet!!")
    assert sent.returncode == 0, sent.stderr
    answer = json.loads(sent.stdout)
    assert answer["accepted"] == 1
    ref = answer["cases"][0]

    case = httpx.get(f"{base}/api/v1/cases/{ref}", headers=auth).json()
    rules = httpx.get(f"{base}/api/v1/rules/explain", headers=auth)  # GET is not a route: 405 problem
    assert rules.status_code == 405
    assert case["department"] == "network"
    assert case["routing"]["ruleset_version"].startswith("rs-")
    assert case["routing"]["deciding_rule"] in case["routing"]["rule_ids"]
    assert case["author"]["handle"] == "@jan"


def test_replays_forgeries_and_bad_bodies_over_real_http(service: dict[str, str], tmp_path: Path) -> None:
    env, base = service, service["base"]
    secret = (Path(env["WEBCARE_VAR_DIR"]) / "secrets" / "LISTENING_WEBHOOK_SECRET").read_text().strip()
    body = json.dumps({"id": f"e2e-{uuid.uuid4().hex}", "channel": "x", "text": "Mijn factuur klopt niet"}).encode()
    headers = {**sign_payload([secret], "msg_e2e", int(time.time()), body), "content-type": "application/json"}

    first = httpx.post(f"{base}/webhooks/listening-tool", content=body, headers=headers)
    again = httpx.post(f"{base}/webhooks/listening-tool", content=body, headers=headers)
    assert (first.json()["accepted"], again.json()["accepted"], again.json()["duplicates"]) == (1, 0, 1)

    forged = httpx.post(f"{base}/webhooks/listening-tool", content=body.replace(b"klopt", b"KLOPT"), headers=headers)
    assert forged.status_code == 401

    bad = json.dumps({"id": "e2e-bad", "channel": "x"}).encode()
    response = httpx.post(f"{base}/webhooks/listening-tool", content=bad,
                          headers={**sign_payload([secret], "msg_bad", int(time.time()), bad),
                                   "content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "text", "message": "Field required"}]

    assert run(env, "users", "add", "olga", "--role", "ops", "--password", "correct horse battery").returncode == 0
    token = run(env, "tokens", "create", "--user", "olga").stdout.strip()
    items = httpx.get(f"{base}/api/v1/cases", headers={"authorization": f"Bearer {token}"}).json()["items"]
    assert len(items) == 1  # the forgery and the bad body stored nothing
    assert items[0]["department"] == "billing"
