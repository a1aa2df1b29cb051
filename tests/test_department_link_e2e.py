"""Issue 3 end to end: a live `webcare serve` (workers included), a real local HTTP receiver that
verifies every delivery with the `standardwebhooks` reference library, and a case taken from
mention to handoff, acknowledge, resolve and close through the API."""

from __future__ import annotations

import base64
import json
import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import standardwebhooks

from app.delivery.signing import sign_payload
from tests.conftest import EXAMPLE_RULES
from tests.test_service_e2e import free_port, run, start_service

pytestmark = pytest.mark.slow
SECRET = "whsec_" + base64.b64encode(b"billing-e2e-secret-32-bytes-long").decode()


class Receiver:
    """A department system: verifies each delivery and records it."""

    def __init__(self, secret: str = SECRET) -> None:
        self.received: list[dict[str, Any]] = []
        self.rejected = 0
        verifier = standardwebhooks.Webhook(secret)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                try:
                    payload = verifier.verify(body, {k.lower(): v for k, v in self.headers.items()})
                except standardwebhooks.WebhookVerificationError:
                    outer.rejected += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                outer.received.append({"id": self.headers["webhook-id"], "type": payload["type"],
                                       "ref": payload["data"].get("case", {}).get("ref"), "data": payload["data"]})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as receiver:
        yield receiver


@pytest.fixture
def rules(tmp_path: Path, receiver: Receiver) -> Path:
    folder = tmp_path / "routing_rules"
    shutil.copytree(EXAMPLE_RULES, folder)
    departments = folder / "departments.yaml"
    text = departments.read_text()
    assert "http://127.0.0.1:8801/hooks/webcare" in text
    departments.write_text(text.replace("http://127.0.0.1:8801/hooks/webcare",
                                        f"http://127.0.0.1:{receiver.port}/hooks/webcare"))
    return folder


def wait_for(condition: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_case_round_trip_with_signed_deliveries(tmp_path: Path, rules: Path, receiver: Receiver) -> None:
    with start_service(tmp_path, rules, extra_env={"BILLING_WEBHOOK_SECRET": SECRET}) as env:
        base = env["base"]
        run(env, "users", "add", "ann", "--role", "agent", "--password", "correct horse battery")
        agent = {"authorization": f"Bearer {run(env, 'tokens', 'create', '--user', 'ann').stdout.strip()}"}
        billing = {"authorization": "Bearer " + run(env, "tokens", "create", "--department", "billing").stdout.strip()}

        listening = (Path(env["WEBCARE_VAR_DIR"]) / "secrets" / "LISTENING_WEBHOOK_SECRET").read_text().strip()
        body = json.dumps({"id": "e2e-1", "channel": "x", "text": "Hoe laat zijn jullie open?"}).encode()
        answer = httpx.post(f"{base}/webhooks/listening-tool", content=body,
                            headers={**sign_payload([listening], "msg_1", int(time.time()), body),
                                     "content-type": "application/json"}).json()
        ref = answer["cases"][0]

        def act(headers: dict[str, str], action: str, payload: dict[str, Any]) -> dict[str, Any]:
            response = httpx.post(f"{base}/api/v1/cases/{ref}/{action}", json=payload, headers=headers)
            assert response.status_code == 200, response.text
            result: dict[str, Any] = response.json()
            return result

        assert act(agent, "handoff", {"department": "billing", "reason": "factuurvraag"})["status"] == \
            "pending_department"
        wait_for(lambda: len(receiver.received) >= 1)
        assert act(billing, "acknowledge", {"external_ref": "BIL-77"})["external_ref"] == "BIL-77"
        act(billing, "notes", {"text": "we kijken ernaar"})
        assert act(billing, "resolve", {"resolution": "terugbetaald"})["status"] == "resolved"
        assert act(agent, "close", {"reason": "opgelost"})["status"] == "closed"

        # billing's subscription lists the types it wants; case.closed is not one of them, so it
        # is in billing's feed but never posted to its system.
        subscribed = ["case.handed_off", "case.updated", "case.resolved"]
        wait_for(lambda: len(receiver.received) >= len(subscribed))
        time.sleep(1.5)  # anything sent twice, or unsubscribed, would arrive now
        assert [r["type"] for r in receiver.received] == subscribed
        assert {r["ref"] for r in receiver.received} == {ref}
        assert len({r["id"] for r in receiver.received}) == len(subscribed)
        assert receiver.rejected == 0

        feed = httpx.get(f"{base}/api/v1/events", headers=billing).json()["items"]
        assert [d["type"] for d in feed] == [*subscribed, "case.closed"]
