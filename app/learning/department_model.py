"""The suggested department in the service: training it from the history on a schedule, storing it
in the database, and serving it to the case JSON and the case page. It never routes."""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from app.cases.models import Case
from app.cases.schemas import SuggestDepartment, SuggestedDepartmentOut
from app.db import transaction
from app.jobs.leases import run_until_stopped
from app.kernel.clock import utc_now
from app.learning.history import outcomes_of
from app.learning.models import RoutingModel
from app.learning.naive_bayes import DepartmentModel, Suggested, suggest_department, train, training_examples
from app.learning.records import case_records
from app.rules.holder import RuleSetHolder

log = logging.getLogger(__name__)
NAME = "suggested_department"
WINDOW = timedelta(days=180)  # the history it learns from: recent enough to follow changed rules
REFRESH_EVERY = timedelta(hours=1)
KEEP = 3  # stored runs kept (the newest serves)


@dataclass(frozen=True, slots=True)
class ServedSuggestion:
    suggestion: Suggested
    trained_at: datetime


def refresh_department_model(session: Session, *, now: datetime, window: timedelta = WINDOW) -> RoutingModel:
    """Train on the cases opened in the `window` before `now` and store the model as the newest
    run (older runs beyond the last `KEEP` are deleted). Flushes, never commits."""
    start = now - window
    model = train(training_examples(outcomes_of(case_records(session, start=start, end=now))))
    row = RoutingModel(name=NAME, trained_at=now, window_start=start, window_end=now, examples=model.examples,
                       model=model.to_json())
    session.add(row)
    session.flush()
    kept = select(RoutingModel.id).where(RoutingModel.name == NAME).order_by(RoutingModel.id.desc()).limit(KEEP)
    newest = list(session.scalars(kept))
    session.execute(delete(RoutingModel).where(RoutingModel.name == NAME, RoutingModel.id.not_in(newest)))
    return row


def trained_recently(session: Session, *, now: datetime, within: timedelta) -> bool:
    """Whether some process stored a run less than `within` ago (the others need not train too)."""
    latest = session.scalar(select(func.max(RoutingModel.trained_at)).where(RoutingModel.name == NAME))
    return latest is not None and now - latest < within


class ModelCache:
    """The newest stored model, parsed once per run and shared by the process's requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: tuple[int, datetime, DepartmentModel] | None = None

    def current(self, session: Session) -> tuple[DepartmentModel, datetime] | None:
        """The newest model and when it was trained, or None before the first run."""
        newest = session.scalar(select(func.max(RoutingModel.id)).where(RoutingModel.name == NAME))
        if newest is None:
            return None
        loaded = self._loaded
        if loaded is None or loaded[0] != newest:
            row = session.get(RoutingModel, newest)
            if row is None:  # pruned meanwhile: the next request reads the newer one
                return None
            loaded = (row.id, row.trained_at, DepartmentModel.from_json(row.model))
            with self._lock:
                self._loaded = loaded
        return loaded[2], loaded[1]

    def suggestion(self, session: Session, case: Case, text: str, *, triage: str) -> ServedSuggestion | None:
        """The suggested department of `case` (its first mention's `text`) when no rule decided it
        and it is still with `triage` and not closed; None otherwise or when the model is silent."""
        if case.routing.get("deciding_rule") is not None or case.department != triage or case.status == "closed":
            return None
        current = self.current(session)
        if current is None:
            return None
        found = suggest_department(current[0], text, current=case.department)
        return ServedSuggestion(found, current[1]) if found is not None else None


def department_suggester(cache: ModelCache, rules: RuleSetHolder) -> SuggestDepartment:
    """The function the case JSON and the case page ask for a case's suggested department."""

    def suggest(session: Session, case: Case, text: str) -> SuggestedDepartmentOut | None:
        served = cache.suggestion(session, case, text, triage=rules.current.triage_department)
        if served is None:
            return None
        found = served.suggestion
        return SuggestedDepartmentOut(department=found.department, confidence=found.confidence,
                                      examples=found.examples, trained_at=served.trained_at)

    return suggest


class ModelRefresher:
    """Trains and stores the model every `interval` (first run at start). A
    process skips its run when another stored one less than half an interval ago."""

    def __init__(self, sessions: sessionmaker[Session], *, interval: timedelta = REFRESH_EVERY):
        self.sessions = sessions
        self.interval = interval

    def run_job(self) -> None:
        try:
            with transaction(self.sessions) as session:
                now = utc_now()
                if trained_recently(session, now=now, within=self.interval / 2):
                    return
                row = refresh_department_model(session, now=now)
            log.info("suggested-department model trained", extra={"examples": row.examples})
        except Exception:  # the database restarting, say: the next run tries again
            log.exception("training the suggested-department model failed")

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Run `run_job` at start and every `interval` on the shared worker loop, on a thread so the
        event loop never waits on training, until `stop` is set."""

        async def step() -> int:
            await asyncio.to_thread(self.run_job)
            return 0  # nothing more to do until the next interval

        await run_until_stopped(stop, step, idle_seconds=self.interval.total_seconds(),
                                name="suggested-department model")
