"""`ReplySender`: posts queued replies through the platforms after the `respond` action commits.

Replies are leased work (`app.jobs.leases`): claimed with a lease, the platform called with no
transaction open, the outcome recorded in another short transaction. The
platforms take no idempotency key, so a reply is never posted twice blindly: once an attempt's
outcome is unknown (a timeout after the request went out, a 5xx, a worker that died mid-call),
every later attempt first looks for the reply where the platform's API allows it and posts only if
it is not there; where it does not allow it, the reply is marked `unconfirmed` for an agent.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from app.ingest.platform_ids import InvalidPlatformId
from app.jobs.leases import BatchWorker
from app.jobs.retry import RetrySchedule
from app.replies.service import ClaimedReply, SendOutcome, claim_replies, record_reply
from app.replies.targets import ApiRequest, Bases, find_reply, lookup_request, reply_id, send_request
from app.rules.holder import RuleSetHolder
from app.secrets import SecretStore

log = logging.getLogger(__name__)
# Errors raised before the request can have reached the platform: certainly not posted.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


class ReplySender(BatchWorker[ClaimedReply, SendOutcome]):
    """Sends pending platform replies; safe to run in every process at once. A reply not posted is
    tried again after `retry_seconds`, doubling up to an hour, with jitter, or when the platform's
    `Retry-After` says; `max_attempts` in all."""

    name = "replies"

    def __init__(self, sessions: sessionmaker[Session], rules: RuleSetHolder, secrets: SecretStore, *,
                 worker_id: str, client: httpx.AsyncClient | None = None, bases: Bases | None = None,
                 batch_size: int = 20, lease_seconds: float = 60.0, timeout: float = 15.0,
                 idle_seconds: float = 1.0, max_attempts: int = 6, retry_seconds: float = 30.0):
        if lease_seconds < 2 * timeout + 5:
            raise ValueError("lease_seconds must exceed twice the timeout plus 5 s (a lookup and a post)")
        schedule = RetrySchedule.doubling(timedelta(seconds=retry_seconds), cap=timedelta(hours=1),
                                          attempts=max_attempts)
        super().__init__(sessions, worker_id=worker_id, schedule=schedule, client=client, batch_size=batch_size,
                         lease_seconds=lease_seconds, timeout=timeout, idle_seconds=idle_seconds)
        self.rules, self.secrets = rules, secrets
        self.bases = bases or Bases()

    def new_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=self.timeout, follow_redirects=False)

    def claim(self, session: Session, *, now: datetime) -> list[ClaimedReply]:
        return claim_replies(session, now=now, worker_id=self.worker_id, lease=self.lease, limit=self.batch_size)

    async def work(self, client: httpx.AsyncClient, job: ClaimedReply) -> SendOutcome:
        return await self._send(client, job)

    def record(self, session: Session, outcome: SendOutcome, *, now: datetime) -> None:
        record_reply(session, outcome, worker_id=self.worker_id, now=now, schedule=self.schedule, rng=self.rng)

    async def _send(self, client: httpx.AsyncClient, reply: ClaimedReply) -> SendOutcome:
        connector = self.rules.current.connectors.get(reply.connector)
        token = self.secrets.optional(connector.access_token_env) if connector else None
        if token is None:
            return SendOutcome(reply.id, "failed", error=f"connector {reply.connector} has no access token",
                               attempted=False)
        outcome = await self._attempt(client, reply, token)
        if outcome.error and token in outcome.error:  # Telegram puts the token in the URL
            outcome = dataclasses.replace(outcome, error=outcome.error.replace(token, "<token>"))
        return outcome

    async def _attempt(self, client: httpx.AsyncClient, reply: ClaimedReply, token: str) -> SendOutcome:
        try:
            return await self._attempt_checked(client, reply, token)
        except InvalidPlatformId as exc:  # raised before any request is made
            return SendOutcome(reply.id, "failed", error=str(exc), attempted=False)

    async def _attempt_checked(self, client: httpx.AsyncClient, reply: ClaimedReply, token: str) -> SendOutcome:
        if reply.uncertain:
            lookup = lookup_request(reply.method, reply.target, bases=self.bases)
            if lookup is None:
                return SendOutcome(reply.id, "unconfirmed", attempted=False,
                                   error="an earlier attempt may have posted it; the platform cannot be asked")
            try:
                response = await self._call(client, lookup, token)
            except httpx.HTTPError as exc:
                return SendOutcome(reply.id, "retry", error=f"looking for the reply: {type(exc).__name__}")
            if response.status_code != 200:
                return SendOutcome(reply.id, "retry", error=f"looking for the reply: HTTP {response.status_code}")
            found = find_reply(reply.method, reply.target, reply.text, _json(response))
            if found is not None:
                return SendOutcome(reply.id, "sent", platform_reply_id=found, found_by_lookup=True)
        request = send_request(reply.method, reply.target, reply.text, token=token, bases=self.bases)
        try:
            response = await self._call(client, request, token)
        except NOT_SENT as exc:
            return SendOutcome(reply.id, "retry", error=f"{type(exc).__name__}: {exc}")
        except httpx.HTTPError as exc:
            return SendOutcome(reply.id, "unknown", error=f"{type(exc).__name__}: {exc}")
        body = _json(response)
        if 200 <= response.status_code < 300:
            platform_id = reply_id(reply.method, reply.target, body)
            if platform_id is None:
                return SendOutcome(reply.id, "unknown", error=f"HTTP {response.status_code} without a reply id")
            return SendOutcome(reply.id, "sent", platform_reply_id=platform_id)
        error = f"HTTP {response.status_code}: {_platform_error(body, response)}"
        if response.status_code == 429:
            return SendOutcome(reply.id, "retry", error=error, retry_after=response.headers.get("retry-after"))
        if response.status_code >= 500:
            return SendOutcome(reply.id, "unknown", error=error)
        return SendOutcome(reply.id, "failed", error=error)

    async def _call(self, client: httpx.AsyncClient, request: ApiRequest, token: str) -> httpx.Response:
        headers = {} if request.url.startswith(self.bases.telegram) else {"authorization": f"Bearer {token}"}
        return await client.request(request.method, request.url, json=request.json, params=request.params,
                                    headers=headers, timeout=self.timeout)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _platform_error(body: Any, response: httpx.Response) -> str:
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if body.get("description"):  # Telegram
            return str(body["description"])
        if body.get("detail") or body.get("title"):  # X
            return str(body.get("detail") or body.get("title"))
    return response.text[:300]
