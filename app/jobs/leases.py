"""Claiming work with a lease, recording its outcome, and the worker loop.

A row of leased work has `next_attempt_at`, `lease_owner` and `lease_until` and a `status`. It is
due when it waits (`status == waiting`) and its time has come, or when a worker holds it
(`status == working`, or a lease set while still `waiting` for kinds without a working status) and
the lease has run out (that worker died). A claim locks the due rows (`FOR UPDATE SKIP LOCKED` on
PostgreSQL, so concurrent claimers take different rows; SQLite has one writer at a time) and writes
the lease in the same short transaction; the slow part runs with no transaction open; the outcome
is recorded only while the worker still holds the lease, so a row is worked once at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

import httpx
from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.orm import Session, sessionmaker

from app.db import transaction
from app.jobs.retry import RetrySchedule
from app.kernel.clock import utc_now

log = logging.getLogger(__name__)


class Leased(Protocol):
    """The columns of a row of leased work."""

    status: str
    next_attempt_at: datetime
    lease_owner: str | None
    lease_until: datetime | None
    updated_at: datetime


def due_condition(model: Any, *, now: datetime, waiting: str, working: str | None = None) -> ColumnElement[bool]:
    """The rows of `model` that may be claimed at `now`: waiting and due, or held under a lease
    that has run out. Without a `working` status a held row keeps `waiting` and has a lease."""
    if working is None:
        return and_(model.status == waiting,
                    or_(and_(model.lease_until.is_(None), model.next_attempt_at <= now), model.lease_until < now))
    return or_(and_(model.status == waiting, model.next_attempt_at <= now),
               and_(model.status == working, model.lease_until < now))


def lease_values(*, worker_id: str, now: datetime, lease: timedelta, working: str | None = None) -> dict[str, Any]:
    """The columns a lease writes: held by `worker_id` until `now + lease` (and `working` when the
    kind has that status). `take_lease` sets them on a row; a set-based claim writes them in one
    UPDATE (`app.delivery.claims`)."""
    values: dict[str, Any] = {"lease_owner": worker_id, "lease_until": now + lease, "updated_at": now}
    if working is not None:
        values["status"] = working
    return values


def released_values() -> dict[str, Any]:
    """The columns giving a lease up writes (with the row's `updated_at`)."""
    return {"lease_owner": None, "lease_until": None}


def held_condition(columns: Any, *, worker_id: str, status: str) -> ColumnElement[bool]:
    """`holds_lease` in SQL, over a model or a table's `c`: only these rows may take an outcome."""
    return and_(columns.lease_owner == worker_id, columns.status == status)


def take_lease(row: Leased, *, worker_id: str, now: datetime, lease: timedelta, working: str | None = None) -> None:
    """Hold `row` for `worker_id` until `now + lease` (and mark it `working` when the kind has that status)."""
    for name, value in lease_values(worker_id=worker_id, now=now, lease=lease, working=working).items():
        setattr(row, name, value)


def holds_lease(row: Leased | None, *, worker_id: str, status: str) -> bool:
    """Whether `worker_id` still holds `row` (in `status`): only then may it record an outcome."""
    return row is not None and row.lease_owner == worker_id and row.status == status


def release(row: Leased, *, now: datetime) -> None:
    """Give the lease up (the outcome is being recorded)."""
    for name, value in released_values().items():
        setattr(row, name, value)
    row.updated_at = now


async def run_until_stopped(stop: asyncio.Event, step: Callable[[], Awaitable[int]], *, idle_seconds: float,
                            name: str) -> None:
    """Run `step` until `stop` is set: again at once while it finds work, after `idle_seconds` when
    it found none or failed (a failure, e.g. the database restarting, is logged, never fatal)."""
    while not stop.is_set():
        try:
            handled = await step()
        except Exception:
            log.exception("%s failed; trying again in %g s", name, idle_seconds)
            handled = 0
        if not handled:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=idle_seconds)


JobT = TypeVar("JobT")
OutcomeT = TypeVar("OutcomeT")


class BatchWorker(Generic[JobT, OutcomeT]):
    """A worker of leased jobs that each make a few HTTP calls: claim a batch in one short
    transaction, work the jobs concurrently over one client with no transaction open, record each
    outcome in a short transaction of its own. Safe to run in every process at once.

    Subclasses say what a job is: `claim`, `work` (never raises: a failure is an outcome) and
    `record` (which checks the lease with `holds_lease`); `schedule` is their retry schedule.
    """

    name = "batch worker"

    def __init__(self, sessions: sessionmaker[Session], *, worker_id: str, schedule: RetrySchedule,
                 client: httpx.AsyncClient | None = None, batch_size: int = 20, lease_seconds: float = 60.0,
                 timeout: float = 10.0, idle_seconds: float = 1.0, rng: random.Random | None = None):
        self.sessions = sessions
        self.worker_id = worker_id
        self.schedule = schedule
        self.batch_size, self.lease, self.timeout = batch_size, timedelta(seconds=lease_seconds), timeout
        self.idle_seconds = idle_seconds
        self.rng = rng or random.Random()
        self._client = client

    def claim(self, session: Session, *, now: datetime) -> list[JobT]:
        raise NotImplementedError

    async def work(self, client: httpx.AsyncClient, job: JobT) -> OutcomeT:
        raise NotImplementedError

    def record(self, session: Session, outcome: OutcomeT, *, now: datetime) -> None:
        raise NotImplementedError

    def new_client(self) -> httpx.AsyncClient:
        """The client for one batch when none was passed in (closed after the batch)."""
        return httpx.AsyncClient(timeout=self.timeout)

    async def run_once(self, now: datetime | None = None) -> int:
        """Claim one batch, work it, record the outcomes; returns how many jobs ran. `now` (default:
        the clock) is the claim's and the record's instant, so tests can step time forward."""
        jobs = await asyncio.to_thread(self._claim, now or utc_now())
        if not jobs:
            return 0
        client = self._client or self.new_client()
        try:
            outcomes = await asyncio.gather(*(self.work(client, job) for job in jobs))
        finally:
            if self._client is None:
                await client.aclose()
        await asyncio.to_thread(self._record, list(outcomes), now or utc_now())
        return len(jobs)

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Run batches until `stop` is set (`run_until_stopped`)."""
        await run_until_stopped(stop, self.run_once, idle_seconds=self.idle_seconds, name=self.name)

    def _claim(self, now: datetime) -> list[JobT]:
        with transaction(self.sessions) as session:
            return self.claim(session, now=now)

    def _record(self, outcomes: list[OutcomeT], now: datetime) -> None:
        for outcome in outcomes:
            with transaction(self.sessions) as session:
                self.record(session, outcome, now=now)
