"""The sample department system in examples/ as a department developer would run it: started with
its one command beside a live `webcare serve`, it verifies the deliveries, acknowledges and notes a
handed-off case with its own ticket number, and resolves it through the API; a forged delivery is
refused."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import EXAMPLE_RULES, REPO
from tests.test_service_e2e import free_port, run, start_service

pytestmark = pytest.mark.slow
SECRET = "whsec_" + base64.b64encode(b"sample-receiver-secret-32-bytes!").decode()


def wait_for(probe: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := probe()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)
    return result


@pytest.fixture
def receiver_port() -> int:
    return free_port()


@pytest.fixture
def rules(tmp_path: Path, receiver_port: int) -> Path:
    folder = tmp_path / "routing_rules"
    shutil.copytree(EXAMPLE_RULES, folder)
    departments = folder / "departments.yaml"
    departments.write_text(departments.read_text().replace("http://127.0.0.1:8801/hooks/webcare",
                                                           f"http://127.0.0.1:{receiver_port}/hooks/webcare"))
    return folder


@pytest.fixture
def service(tmp_path: Path, rules: Path) -> Iterator[dict[str, str]]:
    with start_service(tmp_path, rules, extra_env={"BILLING_WEBHOOK_SECRET": SECRET}) as env:
        yield env


@pytest.fixture
def receiver(service: dict[str, str], receiver_port: int, tmp_path: Path) -> Iterator[str]:
    token = run(service, "tokens", "create", "--department", "billing").stdout.strip()
    env = {**os.environ, "WEBCARE_TOKEN": token, "BILLING_WEBHOOK_SECRET": SECRET}
    with (tmp_path / "receiver.log").open("w") as log:
        process = subprocess.Popen([sys.executable, "-m", "examples.department_receiver", "--department", "billing",
                                    "--port", str(receiver_port), "--webcare-url", service["base"]],
                                   env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{receiver_port}"
    try:
        def up() -> bool:
            try:
                return httpx.get(f"{base}/tickets", timeout=1).status_code == 200
            except httpx.TransportError:
                assert process.poll() is None, (tmp_path / "receiver.log").read_text()
                return False

        wait_for(up)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_sample_receiver_acknowledges_notes_and_resolves_a_handed_off_case(
        service: dict[str, str], receiver: str) -> None:
    sent = run(service, "send", "--connector", "listening-tool", "--url", service["base"],
               "--text", "Er is twee keer afgeschreven voor mijn factuur van maart, graag terugbetaling")
    assert sent.returncode == 0, sent.stderr
    ref = json.loads(sent.stdout)["cases"][0]
    run(service, "users", "add", "ann", "--role", "agent", "--password", "correct horse battery")
    agent = {"authorization": f"Bearer {run(service, 'tokens', 'create', '--user', 'ann').stdout.strip()}"}

    def case() -> dict[str, Any]:
        response = httpx.get(f"{service['base']}/api/v1/cases/{ref}", headers=agent)
        assert response.status_code == 200
        return dict(response.json())

    assert case()["department"] == "billing"
    ticket = wait_for(lambda: case()["external_ref"])
    assert ticket.startswith("BILLING-")
    timeline = case()["timeline"]
    assert any("we are looking into it" in json.dumps(entry) for entry in timeline)

    [listed] = httpx.get(f"{receiver}/tickets").json()
    assert (listed["number"], listed["case_ref"]) == (ticket, ref)
    resolved = httpx.post(f"{receiver}/tickets/{ticket}/resolve", params={"resolution": "terugbetaald"})
    assert resolved.status_code == 200
    assert case()["status"] == "resolved"


def test_the_sample_receiver_refuses_a_forged_delivery(receiver: str) -> None:
    body = json.dumps({"type": "case.handed_off", "timestamp": "2026-03-02T10:00:00Z",
                       "data": {"case": {"ref": "WC-000001", "department": "billing"}}})
    forged = httpx.post(f"{receiver}/hooks/webcare", content=body,
                        headers={"webhook-id": "msg_x", "webhook-timestamp": str(int(time.time())),
                                 "webhook-signature": "v1,AAAA", "content-type": "application/json"})
    assert forged.status_code == 401
    assert httpx.get(f"{receiver}/tickets").json() == []


def test_the_sample_receiver_acknowledges_a_ping_from_ops(service: dict[str, str], receiver: str) -> None:
    pinged = run(service, "departments", "ping", "billing")
    assert pinged.returncode == 0, pinged.stderr
    assert pinged.stdout.startswith("billing http://127.0.0.1:") and ": 204 in " in pinged.stdout
    [ping_id] = httpx.get(f"{receiver}/pings").json()
    assert ping_id.startswith("ping_")
    assert httpx.get(f"{receiver}/tickets").json() == []  # a ping opens no ticket
