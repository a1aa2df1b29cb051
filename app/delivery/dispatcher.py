"""The outbox dispatcher: signed webhook deliveries to the departments' systems.

Each department's endpoint is a lane with its own concurrency and connection pool, so a slow, dead
or throttled endpoint only ever occupies its own lane and never delays the others; a lane whose
recent attempts all failed sends one probe at a time until the endpoint answers again.

Rows are claimed with a lease in a short transaction, posted with no transaction open, and the
outcomes of the calls that ended meanwhile recorded in a batch, in the same short transaction as the
next claim; all database work runs on one thread of the dispatcher's own, off the event loop. Any
number of dispatchers (threads or processes) may run against one database: a lease is held by one
worker at a time, so each event is sent once unless a worker dies mid-call (then the lease expires
and another worker sends it again, with the same `webhook-id`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import ssl
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import httpx
from sqlalchemy.orm import Session, sessionmaker

from app.db import transaction
from app.delivery.claims import AttemptResult, Claimed, bury_orphans, claim_due, record_results
from app.delivery.schedule import DELIVERY_SCHEDULE, Decision, Outcome, decide
from app.delivery.signing import sign_payload
from app.jobs.retry import RetrySchedule
from app.kernel.clock import utc_now
from app.metrics.counters import count_delivery
from app.rules.holder import RuleSetHolder
from app.rules.model import Webhook
from app.secrets import SecretStore

log = logging.getLogger(__name__)
T = TypeVar("T")
RESPONSE_BODY_LIMIT = 1024
USER_AGENT = "webcare-router-webhooks/1"
# Connections per httpx pool. httpcore's pool re-checks every one of its connections (a readiness
# poll each) whenever it hands one out, so a request costs O(pool size) (encode/httpx#3215). Plain
# POSTs at concurrency 32 on this project's machine: one pool of 32 connections 230/s, eight pools of
# 4 about 580/s, 32 pools of 1 about 670/s; the dispatcher went from 240/s (pools of 4) to 295/s
# (pools of 1). A lane therefore gives each of its `concurrency` slots a client of its own.
CONNECTIONS_PER_POOL = 1
TIMEOUT_SECONDS = 10.0
"""How long one attempt may take (connect, send, first KB of the answer): docs/department-api.md
promises department systems this much time to answer."""


def webhook_id(event_id: int) -> str:
    """The `webhook-id` of an event: the same on every attempt and every redelivery."""
    return f"evt_{event_id}"


def signed_request(secrets: SecretStore, webhook: Webhook, msg_id: str, at: datetime,
                   event: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one POST of `event` to `webhook`: compact JSON, signed with the
    current secret and, during a rotation, the previous one. Raises `MissingSecret` or
    `InvalidSecret` when the current secret cannot be had."""
    keys = [secrets.get(webhook.secret_env, webhook=True)]
    previous = secrets.optional(webhook.previous_secret_env)
    if previous:
        keys.append(previous)
    body = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
    headers = sign_payload(keys, msg_id, int(at.timestamp()), body)
    headers.update({"content-type": "application/json", "user-agent": USER_AGENT})
    return body, headers


@dataclass
class _Lane:
    in_flight: int = 0
    paused_until: datetime | None = None
    failures: int = 0  # consecutive failed attempts; a success resets it


class _Pools:
    """One endpoint's connections, spread over small httpx clients (see CONNECTIONS_PER_POOL); a
    call takes the client with the fewest calls in flight, so none holds more than its share."""

    def __init__(self, concurrency: int, timeout: float, tls: ssl.SSLContext):
        count = max(1, -(-concurrency // CONNECTIONS_PER_POOL))
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=CONNECTIONS_PER_POOL)
        self.clients = [httpx.AsyncClient(timeout=httpx.Timeout(timeout), follow_redirects=False, limits=limits,
                                          verify=tls) for _ in range(count)]
        self.in_flight = [0] * count

    @contextlib.contextmanager
    def lease(self) -> Iterator[httpx.AsyncClient]:
        index = min(range(len(self.clients)), key=self.in_flight.__getitem__)
        self.in_flight[index] += 1
        try:
            yield self.clients[index]
        finally:
            self.in_flight[index] -= 1

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()


class Dispatcher:
    """Delivers pending webhook deliveries; see the module docstring for the guarantees.

    `concurrency` is per endpoint (department); `batch_size` caps the rows one claim takes per
    endpoint; `timeout` bounds a whole attempt (connect, send, first KB of the answer);
    `lease_seconds` must leave room for a timed-out attempt and its recording.
    """

    def __init__(self, sessions: sessionmaker[Session], rules: RuleSetHolder, secrets: SecretStore, *,
                 worker_id: str, client: httpx.AsyncClient | None = None, batch_size: int = 50,
                 concurrency: int = 16, lease_seconds: float = 60.0, timeout: float = TIMEOUT_SECONDS,
                 schedule: RetrySchedule | None = None, idle_seconds: float = 0.5, sweep_seconds: float = 10.0,
                 rng: random.Random | None = None, clock: Callable[[], datetime] = utc_now):
        if lease_seconds < 2 * timeout + 5:
            raise ValueError("lease_seconds must exceed twice the timeout plus 5 s, so a lease outlives its call")
        if batch_size < 1 or concurrency < 1:
            raise ValueError("batch_size and concurrency are at least 1")
        self.sessions = sessions
        self.rules = rules
        self.secrets = secrets
        self.worker_id = worker_id
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.lease = timedelta(seconds=lease_seconds)
        self.timeout = timeout
        self.schedule = schedule or DELIVERY_SCHEDULE
        self.idle_seconds = idle_seconds
        self.sweep_seconds = sweep_seconds
        self._rng = rng or random.Random()
        self._clock = clock
        self._client = client
        self._pools: dict[str, _Pools] = {}
        self._tls: ssl.SSLContext | None = None
        self._lanes: dict[str, _Lane] = {}
        self._db_thread: ThreadPoolExecutor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup: asyncio.Event | None = None
        self._results: list[AttemptResult] = []  # outcomes not yet recorded
        self.attempted = 0

    # -- public -------------------------------------------------------------------------------

    async def run_once(self, now: datetime | None = None) -> int:
        """Claim one batch (per endpoint up to `min(batch_size, concurrency)`), deliver it
        concurrently, record the outcomes; return how many deliveries were handled. Every step
        uses `now` (default: the clock), so tests can step time forward."""
        moment = now or self._clock()
        wanted = self._wanted(moment, cap=min(self.batch_size, self.concurrency))
        claimed = await self._db(self._claim, wanted, moment, True)
        results = await asyncio.gather(*(self._handle(c, now=moment) for c in claimed))
        await self._db(self._record, list(results))
        self.attempted += len(results)
        return len(results)

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set, then finish the calls in flight (each bounded by `timeout`),
        record them and return. Whenever calls have ended, one short transaction records their
        outcomes and claims the next deliveries for the freed slots (the next event of the same
        cases included); sleeps at most `idle_seconds` when there is nothing to do, or until `wake()`."""
        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        tasks: set[asyncio.Task[None]] = set()
        last_sweep = -float("inf")
        try:
            while not stop.is_set():
                self._wakeup.clear()
                now = self._clock()
                sweep = time.monotonic() - last_sweep >= self.sweep_seconds
                wanted = self._wanted(now, cap=self.batch_size)
                batch, self._results = self._results, []
                claimed: list[Claimed] = []
                if batch or wanted or sweep:
                    try:
                        claimed = await self._db(self._cycle, batch, wanted, now, sweep)
                    except Exception:  # e.g. the database restarting: keep going, try again shortly
                        # The outcomes are lost with the transaction: their leases expire and the rows
                        # are sent again (same webhook-id), so every event still arrives at least once.
                        log.exception("recording %d outcomes and claiming deliveries failed", len(batch))
                        await _wait_any(stop, stop, timeout=self.idle_seconds)
                        continue
                    last_sweep = time.monotonic() if sweep else last_sweep
                for item in claimed:
                    self._lanes[item.department].in_flight += 1
                    task = asyncio.create_task(self._deliver(item))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                if not self._results:
                    await _wait_any(self._wakeup, stop, timeout=self.idle_seconds)
        finally:
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
            batch, self._results = self._results, []
            if batch:
                try:
                    await self._db(self._record, batch)
                except Exception:
                    log.exception("recording %d delivery outcomes failed", len(batch))
            await self.aclose()

    def wake(self) -> None:
        """Look for due deliveries now rather than after the idle sleep. Safe from any thread (call
        it after committing new events)."""
        loop, event = self._loop, self._wakeup
        if loop is None or event is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            event.set()
        else:
            loop.call_soon_threadsafe(event.set)

    async def aclose(self) -> None:
        """Close the HTTP clients this dispatcher made (a client passed in is the caller's) and its
        database thread; a later run makes new ones."""
        pools, self._pools = self._pools, {}
        for own in pools.values():
            await own.aclose()
        if self._db_thread is not None:
            self._db_thread.shutdown(wait=True)
            self._db_thread = None

    # -- the loop's parts ---------------------------------------------------------------------

    def _wanted(self, now: datetime, *, cap: int) -> dict[str, int]:
        """Free slots per endpoint of the current rule set, skipping throttled endpoints."""
        wanted: dict[str, int] = {}
        for department, config in self.rules.current.departments.items():
            if config.webhook is None:
                continue
            lane = self._lanes.setdefault(department, _Lane())
            if lane.paused_until is not None and lane.paused_until > now:
                continue
            # An endpoint whose last `concurrency` attempts all failed is probably down: probe it
            # with one call at a time until one succeeds, instead of spending a slot per delivery.
            limit = 1 if lane.failures >= self.concurrency else self.concurrency
            free = min(cap, limit - lane.in_flight)
            if free > 0:
                wanted[department] = free
        return wanted

    async def _deliver(self, item: Claimed) -> None:
        try:
            result = await self._handle(item, now=None)
        finally:
            self._lanes[item.department].in_flight -= 1
        self._results.append(result)
        self.attempted += 1
        assert self._wakeup is not None
        self._wakeup.set()

    async def _handle(self, item: Claimed, *, now: datetime | None) -> AttemptResult:
        """Send one claimed delivery with the webhook as configured now; never raises."""
        department = self.rules.current.departments.get(item.department)
        webhook = department.webhook if department is not None else None
        if webhook is None:
            moment = now or self._clock()
            decision = Decision(status="dead", next_attempt_at=moment,
                                error=f"the department has no webhook in rule set {self.rules.current.version}")
            return AttemptResult(delivery_id=item.delivery_id, department=item.department, attempts=item.attempts,
                                 decision=decision, recorded_at=moment, attempted=False)
        started = now or self._clock()
        began = time.perf_counter()
        body_text: str | None = None
        try:
            outcome, body_text = await self._post(webhook, item, started)
        except Exception as exc:  # a bad secret or a bug: logged on the delivery, retried later
            log.exception("delivery %s failed before an answer", item.delivery_id)
            outcome = Outcome(status_code=None, error=f"{type(exc).__name__}: {exc}")
        latency_ms = int((time.perf_counter() - began) * 1000)
        finished = now or self._clock()
        attempts = item.attempts + 1
        decision = decide(outcome, attempts=attempts, now=finished, schedule=self.schedule, rng=self._rng)
        count_delivery(item.department, decision.status, latency_ms / 1000)
        if decision.status != "delivered":
            # Once per attempt, so a department whose endpoint is down shows in the logs at once.
            next_step = "dead" if decision.status == "dead" else f"next attempt at {decision.next_attempt_at:%H:%M:%S}Z"
            log.warning("delivery %s to %s (%s) failed on attempt %d: %s; %s", item.delivery_id, item.department,
                        endpoint_for_logs(webhook.url), attempts,
                        outcome.status_code if outcome.status_code is not None else outcome.error, next_step,
                        extra={"delivery_id": item.delivery_id, "department": item.department,
                               "status_code": outcome.status_code, "attempt": attempts})
        lane = self._lanes.setdefault(item.department, _Lane())
        lane.failures = 0 if decision.status == "delivered" else lane.failures + 1
        if decision.pause_until is not None:
            lane.paused_until = max(lane.paused_until or decision.pause_until, decision.pause_until)
        return AttemptResult(delivery_id=item.delivery_id, department=item.department, attempts=attempts,
                             decision=decision, recorded_at=finished, started_at=started,
                             status_code=outcome.status_code, latency_ms=latency_ms,
                             error=None if decision.status == "delivered" else decision.error,
                             response_body=body_text)

    async def _post(self, webhook: Webhook, item: Claimed, at: datetime) -> tuple[Outcome, str | None]:
        body, headers = signed_request(self.secrets, webhook, webhook_id(item.event_id), at, item.body)
        try:
            async with asyncio.timeout(self.timeout):
                with self._http(item.department) as client:
                    request = client.build_request("POST", webhook.url, content=body, headers=headers)
                    response = await client.send(request, stream=True, follow_redirects=False)
                    try:
                        text = await _read_prefix(response, RESPONSE_BODY_LIMIT)
                    finally:
                        await response.aclose()
        except (TimeoutError, httpx.TimeoutException):
            return Outcome(status_code=None, error=f"timeout after {self.timeout:g} s"), None
        except httpx.HTTPError as exc:
            return Outcome(status_code=None, error=f"connection error: {type(exc).__name__}: {exc}"), None
        return Outcome(status_code=response.status_code, retry_after=response.headers.get("retry-after"),
                       location=response.headers.get("location")), text

    @contextlib.contextmanager
    def _http(self, department: str) -> Iterator[httpx.AsyncClient]:
        """The client for one call to `department`'s endpoint (the caller's client, when given)."""
        if self._client is not None:
            yield self._client
            return
        # Pools per endpoint: a dead endpoint's hanging connections then neither hold a shared
        # pool's slots nor slow its bookkeeping. The lane already bounds the calls to `concurrency`.
        pools = self._pools.get(department)
        if pools is None:
            if self._tls is None:  # one TLS context for all pools: loading the CA store costs ~20 ms each
                self._tls = httpx.create_ssl_context()
            pools = self._pools[department] = _Pools(self.concurrency, self.timeout, self._tls)
        with pools.lease() as client:
            yield client

    # -- database (on the dispatcher's own thread, one short transaction per call) -------------

    async def _db(self, function: Callable[..., T], *args: Any) -> T:
        # One thread: the dispatcher's transactions never overlap each other, and the event loop
        # never waits on the database.
        if self._db_thread is None:
            self._db_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dispatcher-db")
        return await asyncio.get_running_loop().run_in_executor(self._db_thread, function, *args)

    def _claim(self, wanted: dict[str, int], now: datetime, sweep: bool) -> list[Claimed]:
        with transaction(self.sessions) as session:
            return self._claim_in(session, wanted, now, sweep)

    def _claim_in(self, session: Session, wanted: dict[str, int], now: datetime, sweep: bool) -> list[Claimed]:
        if sweep:
            ruleset = self.rules.current
            with_webhook = [d for d, c in ruleset.departments.items() if c.webhook is not None]
            buried = bury_orphans(session, with_webhook=with_webhook, ruleset_version=ruleset.version, now=now)
            if buried:
                log.warning("%d deliveries are dead: their department has no webhook any more", buried)
        return claim_due(session, wanted=wanted, now=now, worker_id=self.worker_id, lease=self.lease)

    def _cycle(self, results: list[AttemptResult], wanted: dict[str, int], now: datetime,
               sweep: bool) -> list[Claimed]:
        """Record `results` and claim up to `wanted`, in one transaction: a case's next delivery
        becomes its head as its predecessor's outcome is written, so it can be claimed right away."""
        with transaction(self.sessions) as session:
            record_results(session, results, worker_id=self.worker_id)
            return self._claim_in(session, wanted, now, sweep)

    def _record(self, results: list[AttemptResult]) -> None:
        with transaction(self.sessions) as session:
            record_results(session, results, worker_id=self.worker_id)


async def _read_prefix(response: httpx.Response, limit: int) -> str:
    """The first `limit` bytes of the body, decoded leniently (the rest is not read)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit].decode("utf-8", errors="replace")


async def _wait_any(first: asyncio.Event, second: asyncio.Event, *, timeout: float) -> None:
    waiters = [asyncio.create_task(first.wait()), asyncio.create_task(second.wait())]
    _done, pending = await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    for waiter in pending:
        waiter.cancel()


def endpoint_for_logs(url: str) -> str:
    """The webhook URL without user info, query or fragment (where a token might hide)."""
    parts = httpx.URL(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.host}{port}{parts.path}"
