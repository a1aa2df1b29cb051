"""The `ping` event: ops test a department's webhook endpoint on demand.

A ping is sent at once, synchronously, in the request (or command) that asks for it, never
through the outbox: ops want the answer now (status, latency, error), including while the
subscription is disabled after a `410` or the endpoint's deliveries are paused or dead, which is
exactly when they test it; the outbox would queue it behind the case deliveries, hold it while the
subscription is off and retry it for two days. So a ping is one attempt, not stored as an event,
not retried, never in the event feed, and sent whatever the webhook's `events` list says. It is
signed like every event (the current secret and, during a rotation, the previous one) and carries
the body's `version`. The outcome is audited (`department.pinged`); it changes nothing else (a
`410` answered to a ping does not disable the subscription).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.orm import Session

from app.audit import record
from app.audit.service import ActorLike
from app.delivery.dispatcher import RESPONSE_BODY_LIMIT, TIMEOUT_SECONDS, endpoint_for_logs, signed_request
from app.delivery.outbox import EVENT_BODY_VERSION
from app.kernel.timefmt import iso_z
from app.rules import RuleSet
from app.secrets import InvalidSecret, MissingSecret, SecretStore


class NoWebhook(LookupError):
    """The department is unknown or has no webhook in the active rule set."""


@dataclass(frozen=True)
class PingResult:
    """What one ping did. `ok`: the endpoint answered 2xx. `status_code` is None when no answer
    came (`error` says why: connection refused, timeout, a missing secret). `url` is the endpoint
    without user info, query or fragment."""

    department: str
    url: str
    webhook_id: str
    ok: bool
    status_code: int | None
    latency_ms: int
    error: str | None
    response_body: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def ping_body(department: str, ping_id: str, now: datetime) -> dict[str, Any]:
    """The body of a ping: `{"type": "ping", "version", "timestamp", "data": {"department", "ping_id"}}`."""
    return {"type": "ping", "version": EVENT_BODY_VERSION, "timestamp": iso_z(now),
            "data": {"department": department, "ping_id": ping_id}}


def send_ping(ruleset: RuleSet, secrets: SecretStore, department: str, *, now: datetime,
              timeout: float = TIMEOUT_SECONDS, transport: httpx.BaseTransport | None = None) -> PingResult:
    """Post one signed ping to the department's webhook and report how it went (never raises for
    the endpoint's failures: they are the answer). Raises NoWebhook when the department has no
    webhook in `ruleset`. Redirects are not followed, as for every event."""
    config = ruleset.departments.get(department)
    if config is None or config.webhook is None:
        raise NoWebhook(f"department {department} has no webhook in rule set {ruleset.version}")
    webhook = config.webhook
    ping_id = f"ping_{uuid.uuid4().hex}"
    result = {"department": department, "url": endpoint_for_logs(webhook.url), "webhook_id": ping_id}
    try:
        body, headers = signed_request(secrets, webhook, ping_id, now, ping_body(department, ping_id, now))
    except (MissingSecret, InvalidSecret) as exc:
        return PingResult(**result, ok=False, status_code=None, latency_ms=0, error=str(exc), response_body=None)
    started = time.monotonic()
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, transport=transport) as client, \
                client.stream("POST", webhook.url, content=body, headers=headers) as response:
            text = _prefix(response)
    except httpx.TimeoutException:
        return PingResult(**result, ok=False, status_code=None, latency_ms=_since(started),
                          error=f"timeout after {timeout:g} s", response_body=None)
    except httpx.HTTPError as exc:
        return PingResult(**result, ok=False, status_code=None, latency_ms=_since(started),
                          error=f"connection error: {type(exc).__name__}: {exc}", response_body=None)
    return PingResult(**result, ok=response.is_success, status_code=response.status_code,
                      latency_ms=_since(started), error=None if response.is_success else f"HTTP {response.status_code}",
                      response_body=text)


def audit_ping(session: Session, actor: ActorLike, result: PingResult, now: datetime) -> None:
    """Record the ping and its outcome (`department.pinged`; not the URL or the answer's body)."""
    record(session, actor, "department.pinged", f"department:{result.department}",
           {"ok": result.ok, "status_code": result.status_code, "latency_ms": result.latency_ms,
            "error": result.error}, now)


def _prefix(response: httpx.Response) -> str:
    chunks: list[bytes] = []
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        if sum(map(len, chunks)) >= RESPONSE_BODY_LIMIT:
            break
    return b"".join(chunks)[:RESPONSE_BODY_LIMIT].decode("utf-8", errors="replace")


def _since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
