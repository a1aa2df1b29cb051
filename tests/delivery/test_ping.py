"""`POST /api/v1/departments/{department}/ping` and `webcare departments ping`: one signed `ping`
event to a real HTTP receiver, the outcome reported (status, latency, error) for a working, a
refusing, a dead and a hanging endpoint, and audited."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from app.audit.models import AuditEntry
from app.db import make_engine, make_sessionmaker
from app.delivery.claims import set_subscription
from app.delivery.ping import send_ping
from app.kernel.clock import utc_now
from app.main import create_app
from app.migrate import upgrade_to_head
from app.rules import load_ruleset
from app.secrets import SecretStore
from tests.conftest import REPO
from tests.dbutil import scratch_database_url, sqlite_write_probe
from tests.delivery.receiver import Receiver
from tests.delivery.support import Hook, rules_folder
from tests.support import ApiClient, audited, make_department_token, make_user_token
from tests.test_openapi_contract import DOCUMENT, check, validate

BILLING_SECRET = "TEST_DELIVERY_BILLING_SECRET"


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def secrets(tmp_path: Path) -> SecretStore:
    """The development store the app under test uses (same var dir), so the receiver knows the key."""
    return SecretStore(production=False, var_dir=tmp_path / "var")


@pytest.fixture
def receiver(secrets: SecretStore) -> Iterator[Receiver]:
    """`/billing` verifies with billing's secret; `/network` with a wrong one (answers 400)."""
    wrong = "whsec_" + "QUJD" * 11
    with Receiver({"billing": secrets.get(BILLING_SECRET, webhook=True), "network": wrong},
                  hang=frozenset({"claims"}), hang_seconds=5) as server:
        yield server


@pytest.fixture
def rules_dir(tmp_path: Path, receiver: Receiver) -> Path:
    return rules_folder(tmp_path / "rules", {
        "billing": Hook(f"{receiver.url}/billing", BILLING_SECRET),
        "network": Hook(f"{receiver.url}/network", "TEST_DELIVERY_NETWORK_SECRET", events=("case.resolved",)),
        "claims": Hook(f"http://127.0.0.1:{closed_port()}/claims", "TEST_DELIVERY_CLAIMS_SECRET")})


@pytest.fixture
def ops(client: TestClient, sessions: sessionmaker[Session]) -> ApiClient:
    return ApiClient(client, make_user_token(sessions, "ops-olga", "ops"))


def test_a_ping_reaches_a_working_endpoint_signed_and_with_a_version(ops: ApiClient, receiver: Receiver,
                                                                      sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():  # a disabled subscription is exactly when ops test
        set_subscription(session, "billing", enabled=False, now=utc_now(), reason="410 Gone answered")
    response = ops.post("/api/v1/departments/billing/ping")
    assert response.status_code == 200, response.text
    check(response, "post", "/api/v1/departments/{department}/ping")
    result = response.json()
    assert result["ok"] is True and result["status_code"] == 200 and result["error"] is None
    assert result["response_body"] == "ok" and result["url"] == f"{receiver.url}/billing"
    assert 0 <= result["latency_ms"] < 10_000
    [received] = receiver.snapshot()
    assert received.verified and received.type == "ping" and received.webhook_id == result["webhook_id"]
    assert received.body is not None and received.body["version"] == 1
    assert received.body["data"] == {"department": "billing", "ping_id": result["webhook_id"]}
    validate(DOCUMENT["webhooks"]["ping"]["post"]["requestBody"]["content"]["application/json"]["schema"],
             received.body)
    [entry] = audited(ops, "department.pinged")
    assert (entry["actor"], entry["target"]) == ("ops-olga", "department:billing")
    assert entry["details"] == {"ok": True, "status_code": 200, "latency_ms": result["latency_ms"], "error": None,
                                "via": "api"}


def test_failing_endpoints_are_reported_not_raised(ops: ApiClient, receiver: Receiver) -> None:
    refused = ops.post("/api/v1/departments/network/ping").json()  # a ping ignores the `events` list
    assert (refused["ok"], refused["status_code"], refused["error"]) == (False, 400, "HTTP 400")
    assert refused["response_body"] == "bad signature"
    dead = ops.post("/api/v1/departments/claims/ping").json()
    assert dead["ok"] is False and dead["status_code"] is None
    assert dead["error"].startswith("connection error: ConnectError")
    entries = {e["target"]: e["details"] for e in audited(ops, "department.pinged")}
    assert entries["department:network"]["ok"] is False and entries["department:network"]["status_code"] == 400
    assert entries["department:claims"]["status_code"] is None
    assert entries["department:claims"]["error"] == dead["error"]


def test_a_hanging_endpoint_times_out(rules_dir: Path, secrets: SecretStore, receiver: Receiver) -> None:
    hang = rules_folder(rules_dir, {"claims": Hook(f"{receiver.url}/claims", BILLING_SECRET)})
    result = send_ping(load_ruleset(hang), secrets, "claims", now=utc_now(), timeout=0.5)
    assert (result.ok, result.status_code, result.error) == (False, None, "timeout after 0.5 s")
    assert 400 <= result.latency_ms < 5000


def test_who_may_ping_and_what(client: TestClient, ops: ApiClient, sessions: sessionmaker[Session]) -> None:
    for token in (make_user_token(sessions, "lead-lotte", "lead"), make_department_token(sessions, "billing")):
        refused = client.post("/api/v1/departments/billing/ping", headers={"authorization": f"Bearer {token}"})
        assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    for department in ("webcare", "nowhere"):  # no webhook; no such department
        missing = ops.post(f"/api/v1/departments/{department}/ping")
        assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
        assert "has no webhook" in missing.json()["detail"]
    assert audited(ops, "department.pinged") == []


def test_the_cli_pings_and_exits_1_on_a_failing_endpoint(rules_dir: Path, tmp_path: Path, receiver: Receiver,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from app.cli import cli
    from app.settings import get_settings

    with scratch_database_url(tmp_path) as url:
        engine = make_engine(url)
        upgrade_to_head(engine)
        for name, value in (("WEBCARE_DATABASE_URL", url), ("WEBCARE_RULES_DIR", str(rules_dir)),
                            ("WEBCARE_VAR_DIR", str(tmp_path / "var")), ("SUDO_USER", "piet")):
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        try:
            good = CliRunner().invoke(cli, ["departments", "ping", "billing"])
            bad = CliRunner().invoke(cli, ["departments", "ping", "network"])
            unknown = CliRunner().invoke(cli, ["departments", "ping", "webcare"])
        finally:
            get_settings.cache_clear()
        with Session(engine) as session:
            entries = [(e.actor_type, e.actor, e.target, e.details["ok"], e.details["status_code"])
                       for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        engine.dispose()
    assert good.exit_code == 0, good.output
    assert good.stdout.startswith(f"billing {receiver.url}/billing: 200 in ") and good.stdout.rstrip().endswith("ms")
    assert bad.exit_code == 1 and "network" in bad.stdout and "HTTP 400" in bad.stdout
    assert unknown.exit_code == 2 and "has no webhook" in unknown.stderr
    assert entries == [("cli", "piet", "department:billing", True, 200),
                       ("cli", "piet", "department:network", False, 400)]


def test_the_documented_ping_body_fits_the_document() -> None:
    text = (REPO / "docs" / "department-api.md").read_text()
    section = text[text.index("### Testing your endpoint: `ping`"):]
    example = json.loads(section[section.index("```json") + 7:section.index("```", section.index("```json") + 7)])
    validate(DOCUMENT["webhooks"]["ping"]["post"]["requestBody"]["content"]["application/json"]["schema"], example)
    assert example["data"]["ping_id"].startswith("ping_") and example["version"] == 1


def test_no_write_lock_is_held_while_the_endpoint_answers(tmp_path: Path, settings: Any,
                                                          secrets: SecretStore) -> None:
    """On SQLite a write holds the file's lock until commit: a ping (up to 10 s) must not, even
    with an Idempotency-Key and a token whose last use is to be written."""
    database = tmp_path / "ping.db"
    probes: list[str] = []

    class Probing(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            probes.append(sqlite_write_probe(database))  # another writer, while the ping waits for us
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Probing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        rules = rules_folder(tmp_path / "probing-rules", {
            "billing": Hook(f"http://127.0.0.1:{server.server_address[1]}/billing", BILLING_SECRET)})
        engine = make_engine(f"sqlite:///{database}")
        upgrade_to_head(engine)
        token = make_user_token(make_sessionmaker(engine), "ops-olga", "ops")
        app = create_app(settings.model_copy(update={"rules_dir": rules}), engine=engine)
        with TestClient(app) as client:
            headers = {"authorization": f"Bearer {token}", "Idempotency-Key": "ping-1"}
            first = client.post("/api/v1/departments/billing/ping", headers=headers)
            again = client.post("/api/v1/departments/billing/ping", headers=headers)
        engine.dispose()
    finally:
        server.shutdown()
        server.server_close()
    assert first.status_code == 200 and first.json()["status_code"] == 204, first.text
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    assert probes == ["free"], probes  # one ping: the repeated key replayed the answer without pinging
