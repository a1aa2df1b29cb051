"""Incidents in the database: the check that opens, grows and closes them, an agent's close, and
one reply to every case. Runs in the caller's transaction; never commits."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.service import Principal
from app.cases.actions import ActionRequest, perform_action
from app.cases.locking import lock_case
from app.cases.models import Case, CaseEvent
from app.incidents.events import emit_incident
from app.incidents.models import Incident, IncidentCase
from app.kernel.errors import Conflict
from app.mentions.stored import StoredMention
from app.rules import RuleSet
from app.rules.watching import watch_matches
from app.storms.config import IncidentWatch
from app.storms.detect import OpenState, detect, history_slices

LATE_COMMIT_GRACE = timedelta(minutes=2)
"""A check looks for joining cases from this long before the previous check: a mention received
just before that check may have been committed just after it."""


@dataclass
class HistoryCache:
    """The hourly history counts of each watch, kept per process: they change only when the hour
    (or the rule set) changes, so a check every 30 seconds reads them once an hour."""

    counts: dict[tuple[str, str, datetime], list[int]] = field(default_factory=dict)

    def get(self, session: Session, ruleset: RuleSet, watch: IncidentWatch, now: datetime) -> list[int]:
        slices = history_slices(now, watch)
        key = (watch.id, ruleset.version, slices[0][0])
        if key not in self.counts:
            self.counts = {k: v for k, v in self.counts.items() if k[0] != watch.id}  # one hour per watch
            self.counts[key] = history_counts(session, ruleset, watch, slices)
        return self.counts[key]


@dataclass(frozen=True)
class CheckResult:
    """What one check did, per watch id: opened, updated (cases joined), closed."""

    opened: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.opened or self.updated or self.closed)


def matching_mentions(session: Session, ruleset: RuleSet, watch: IncidentWatch, start: datetime,
                      end: datetime) -> list[tuple[int, datetime]]:
    """(case id, received at) of every stored mention received in (start, end] that the watch
    matches: its text against the watch's lists, the category its routing decision gave it
    against the watch's categories."""
    rows = session.execute(select(StoredMention.case_id, StoredMention.text, StoredMention.decision,
                                  StoredMention.received_at)
                           .where(StoredMention.received_at > start, StoredMention.received_at <= end))
    return [(case_id, at) for case_id, text, decision, at in rows
            if watch_matches(ruleset, watch, text, (decision or {}).get("category"))]


def history_counts(session: Session, ruleset: RuleSet, watch: IncidentWatch,
                   slices: Iterable[tuple[datetime, datetime]]) -> list[int]:
    """The matching mentions in each history slice that the database has history for (a slice
    before the first stored mention is no evidence of a quiet hour, so it is left out)."""
    first = session.scalar(select(func.min(StoredMention.received_at)))
    if first is None:
        return []
    return [len(matching_mentions(session, ruleset, watch, start - timedelta(microseconds=1),
                                  end - timedelta(microseconds=1)))
            for start, end in slices if start >= first]


def check_incidents(session: Session, ruleset: RuleSet, *, now: datetime,
                    history: HistoryCache | None = None) -> CheckResult:
    """One check of every watch at `now` (`app.storms.detect.detect` decides): open an incident
    with the cases of the window that crossed; let the cases of newer matching mentions join an
    open one; close one that has been calm long enough, or whose watch is gone. Sends
    `incident.opened` / `incident.updated` (when cases joined) / `incident.closed`.

    The open incidents are locked first, so two processes checking at once take turns; the
    partial unique index on (watch) WHERE open refuses a second open incident of one watch."""
    history = history or HistoryCache()
    result = CheckResult()
    open_rows = {i.watch: i for i in session.scalars(select(Incident).where(Incident.status == "open")
                                                      .with_for_update().execution_options(populate_existing=True))}
    for watch in ruleset.incidents:
        incident = open_rows.pop(watch.id, None)
        counts = history.get(session, ruleset, watch, now)
        window = matching_mentions(session, ruleset, watch, now - watch.window, now)
        state = OpenState(incident.opened_at, incident.last_hot_at) if incident else None
        verdict = detect(counts, len(window), watch, now, state)
        if verdict.action == "open":
            incident = Incident(watch=watch.id, title=watch.title, status="open", opened_at=now, last_hot_at=now,
                                checked_at=now, usual=verdict.usual, needed=verdict.needed, peak=verdict.count,
                                ruleset_version=ruleset.version)
            session.add(incident)
            session.flush()
            _join(session, incident, (case_id for case_id, _ in window), now)
            _emit(session, incident, "incident.opened", ruleset, now)
            result.opened.append(incident.id)
            continue
        if incident is None:
            continue
        since = max(incident.opened_at - watch.window, incident.checked_at - LATE_COMMIT_GRACE)
        joined = _join(session, incident, (c for c, _ in matching_mentions(session, ruleset, watch, since, now)), now)
        incident.checked_at = now
        if verdict.action == "update":
            incident.last_hot_at = now
            incident.peak = max(incident.peak, verdict.count)
        if verdict.action == "close":
            close_incident(session, incident, by="calm", ruleset=ruleset, now=now)
            result.closed.append(incident.id)
        elif joined:
            _emit(session, incident, "incident.updated", ruleset, now)
            result.updated.append(incident.id)
    for incident in open_rows.values():  # its watch left incidents.yaml
        close_incident(session, incident, by="watch-removed", ruleset=ruleset, now=now)
        result.closed.append(incident.id)
    return result


def close_incident(session: Session, incident: Incident, *, by: str, ruleset: RuleSet, now: datetime) -> None:
    """Close an open incident (`by`: calm, watch-removed or a username) and send `incident.closed`.
    Raises Conflict when it is closed already."""
    if incident.status != "open":
        raise Conflict(f"incident {incident.id} is closed already", allowed=[])
    incident.status, incident.closed_at, incident.closed_by, incident.checked_at = "closed", now, by, now
    _emit(session, incident, "incident.closed", ruleset, now)


def incident_case_ids(session: Session, incident_id: int) -> list[int]:
    """The ids of the incident's cases, oldest case first."""
    return list(session.scalars(select(IncidentCase.case_id).where(IncidentCase.incident_id == incident_id)
                                .order_by(IncidentCase.case_id)))


def case_counts(session: Session, incident_ids: Iterable[int]) -> dict[int, int]:
    """How many cases each incident groups."""
    ids = list(incident_ids)
    if not ids:
        return {}
    rows = session.execute(select(IncidentCase.incident_id, func.count()).where(IncidentCase.incident_id.in_(ids))
                           .group_by(IncidentCase.incident_id))
    return {incident_id: int(count) for incident_id, count in rows}


def respond_to_incident(session: Session, incident: Incident, *, text: str, send: bool, principal: Principal,
                        ruleset: RuleSet, now: datetime) -> list[dict[str, Any]]:
    """Answer every case of the incident with `text`: on each case, under its own lock (taken in
    case-id order, so two such replies cannot deadlock), exactly what `respond` does on that case
    alone (its own `responded` entry, first-response timer, and platform reply queued on its own
    connector when `send`). A case whose state refuses a reply (closed, merged) is skipped and
    said so. Returns one outcome per case: `{"case", "outcome": "responded", "delivery", ...}` or
    `{"case", "outcome": "skipped", "reason"}`."""
    outcomes: list[dict[str, Any]] = []
    for case_id in incident_case_ids(session, incident.id):
        case = lock_case(session, case_id)
        if case is None:
            continue
        try:
            perform_action(session, case, ActionRequest("respond", {"text": text, "send": send}),
                           principal=principal, ruleset=ruleset, now=now)
        except Conflict as exc:
            outcomes.append({"case": case.ref, "outcome": "skipped", "reason": exc.detail or str(exc)})
            continue
        outcomes.append({"case": case.ref, "outcome": "responded", **_reply_of(session, case)})
    return outcomes


def _reply_of(session: Session, case: Case) -> dict[str, Any]:
    event = session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.type == "responded")
                           .order_by(CaseEvent.id.desc()).limit(1))
    data = event.data if event is not None else {}
    return {k: data[k] for k in ("delivery", "reply_id", "reason") if k in data}


def _join(session: Session, incident: Incident, case_ids: Iterable[int], now: datetime) -> int:
    """Add the cases not yet in the incident; returns how many joined."""
    wanted = set(case_ids)
    if not wanted:
        return 0
    have = set(session.scalars(select(IncidentCase.case_id).where(IncidentCase.incident_id == incident.id,
                                                                   IncidentCase.case_id.in_(wanted))))
    new = sorted(wanted - have)
    session.add_all(IncidentCase(incident_id=incident.id, case_id=case_id, joined_at=now) for case_id in new)
    session.flush()
    return len(new)


def _emit(session: Session, incident: Incident, type: str, ruleset: RuleSet, now: datetime) -> None:
    ids = incident_case_ids(session, incident.id)
    if ids:
        emit_incident(session, incident, type=type, case_count=len(ids), lead_case_id=ids[0], ruleset=ruleset,
                      now=now)
