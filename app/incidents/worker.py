"""The incident check on the shared worker loop (`app.jobs.leases.run_until_stopped`), in
`webcare serve` and `webcare worker`: every `interval` seconds (30 by default,
`WEBCARE_INCIDENT_CHECK_SECONDS`), so an incident opens within that long of the crossing."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.db import transaction
from app.incidents.service import CheckResult, HistoryCache, check_incidents
from app.jobs.leases import run_until_stopped
from app.kernel.clock import utc_now
from app.rules.holder import RuleSetHolder

log = logging.getLogger(__name__)
CHECK_INTERVAL_SECONDS = 30.0


class IncidentWatcher:
    """Runs `check_incidents` in a transaction of its own, on a thread so the event loop never
    waits on the database. Any number of processes may check at once (see `check_incidents`)."""

    def __init__(self, sessions: sessionmaker[Session], rules: RuleSetHolder, *,
                 interval: float = CHECK_INTERVAL_SECONDS):
        self.sessions = sessions
        self.rules = rules
        self.interval = interval
        self.history = HistoryCache()

    def check(self) -> CheckResult:
        """One check now; committed when it returns."""
        ruleset = self.rules.current
        try:
            with transaction(self.sessions) as session:
                result = check_incidents(session, ruleset, now=utc_now(), history=self.history)
        except IntegrityError:
            # Another process opened the same watch's incident a moment earlier: its check wins.
            log.info("incident check lost a race with another process; checking again next time")
            return CheckResult()
        for kind in ("opened", "updated", "closed"):
            for incident_id in getattr(result, kind):
                log.info("incident %s", kind, extra={"incident_id": incident_id})
        return result

    async def _step(self) -> int:
        await asyncio.to_thread(self.check)
        return 0  # one check per interval, whatever it found

    async def run_forever(self, stop: asyncio.Event) -> None:
        await run_until_stopped(stop, self._step, idle_seconds=self.interval, name="incident check")
