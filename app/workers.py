"""Background workers (webhook delivery, the SLA sweeper, Instagram enrichment, platform replies,
the purge of expired idempotency keys and UI sessions, the daily retention purge, the incident
check):
run inside `webcare serve` (unless WEBCARE_WORKERS_ENABLED=false) or alone
with `webcare worker`. Every worker is safe to run in any number of processes at once: each claims
its rows with leases (DESIGN "The flow of one mention")."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

import app.case_handlers  # noqa: F401  (registers what every case change does: timers, outbox, replies)
from app.delivery.dispatcher import Dispatcher
from app.delivery.outbox import OUTBOX_FLAG
from app.privacy.policy import RetentionPolicy
from app.privacy.retention import RetentionPurger
from app.rules.holder import RuleSetHolder
from app.secrets import SecretStore

log = logging.getLogger(__name__)


class Worker(Protocol):
    async def run_forever(self, stop: asyncio.Event) -> None: ...


def worker_id() -> str:
    """Who holds a lease: host, process and a random suffix (two workers in one process differ)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Workers:
    """The process's workers. `start()` runs them as tasks of the running loop; `stop()` asks them
    to finish what is in flight and waits for them."""

    def __init__(self, sessions: sessionmaker[Session], rules: RuleSetHolder, secrets: SecretStore, *,
                 retention: RetentionPolicy | None = None, incident_check_seconds: float = 30.0):
        from app.housekeeping import Housekeeper
        from app.incidents.worker import IncidentWatcher
        from app.ingest.enrichment import EnrichmentWorker
        from app.learning.department_model import ModelRefresher
        from app.replies.sender import ReplySender
        from app.sla.sweeper import SlaSweeper

        self.dispatcher = Dispatcher(sessions, rules, secrets, worker_id=worker_id())
        self.workers: list[Worker] = [
            self.dispatcher,
            SlaSweeper(sessions, rules),
            EnrichmentWorker(sessions, rules, secrets, worker_id=worker_id()),
            ReplySender(sessions, rules, secrets, worker_id=worker_id()),
            ModelRefresher(sessions),
            Housekeeper(sessions),
            RetentionPurger(sessions, retention or RetentionPolicy()),
            IncidentWatcher(sessions, rules, interval=incident_check_seconds),
        ]
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._sessions = sessions
        event.listen(sessions, "after_commit", self._after_commit)

    def _after_commit(self, session: Session) -> None:
        # New outbox rows are delivered at once instead of after the dispatcher's idle sleep.
        if session.info.pop(OUTBOX_FLAG, False):
            self.dispatcher.wake()

    def add(self, worker: Worker) -> None:
        self.workers.append(worker)

    async def start(self) -> None:
        self._stop.clear()
        self._tasks = [asyncio.create_task(_guarded(w.run_forever, self._stop), name=type(w).__name__)
                       for w in self.workers]

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        event.remove(self._sessions, "after_commit", self._after_commit)

    async def run_until(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set (used by `webcare worker`)."""
        await self.start()
        await stop.wait()
        await self.stop()


async def _guarded(run: Callable[[asyncio.Event], Awaitable[Any]], stop: asyncio.Event) -> None:
    """Restart a worker that crashed (after a pause) instead of losing it silently."""
    while not stop.is_set():
        try:
            await run(stop)
        except Exception:
            log.exception("worker crashed; restarting in 5 s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=5)
        else:
            return
