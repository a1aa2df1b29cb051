"""A real HTTP receiver for delivery tests: a department system on 127.0.0.1 that verifies every
delivery with the `standardwebhooks` library and remembers what arrived, in order."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError


@dataclass(frozen=True)
class Received:
    path: str
    webhook_id: str
    verified: bool
    type: str | None
    case: str | None
    body: dict[str, Any] | None = None  # the verified JSON body (None when it did not verify)


class Receiver:
    """Serves `POST /<department>`: 200 when the signature verifies with that path's secret, else
    400. Paths in `hang` never answer within `hang_seconds` (a dead endpoint)."""

    def __init__(self, secrets: dict[str, str], *, delay: float = 0.0, hang: frozenset[str] = frozenset(),
                 hang_seconds: float = 30.0):
        self.secrets = secrets
        self.delay = delay
        self.hang = hang
        self.hang_seconds = hang_seconds
        self.received: list[Received] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                path = self.path.strip("/")
                if path in receiver.hang:
                    time.sleep(receiver.hang_seconds)
                    return
                record = receiver.check(path, body, {k.lower(): v for k, v in self.headers.items()})
                if receiver.delay:
                    time.sleep(receiver.delay)
                answer = b"ok" if record.verified else b"bad signature"
                self.send_response(200 if record.verified else 400)
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.port = int(self.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def check(self, path: str, body: bytes, headers: dict[str, str]) -> Received:
        secret = self.secrets.get(path)
        payload: dict[str, Any] | None = None
        try:
            if secret is not None:
                payload = Webhook(secret).verify(body, headers)
        except WebhookVerificationError:
            payload = None
        if payload is None:
            try:
                payload = json.loads(body)
            except ValueError:
                payload = {}
            verified = False
        else:
            verified = True
        case = payload.get("data", {}).get("case", {}).get("ref") if isinstance(payload, dict) else None
        record = Received(path=path, webhook_id=headers.get("webhook-id", ""), verified=verified,
                          type=payload.get("type") if isinstance(payload, dict) else None, case=case,
                          body=payload if verified and isinstance(payload, dict) else None)
        with self._lock:
            self.received.append(record)
        return record

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
