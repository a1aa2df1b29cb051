"""Applying a case change: the one place every change of a case goes through.

A change is a life-cycle outcome (the new state, from `app.cases.lifecycle`) and what happened
(`DomainEvent`s). `apply_changes` writes the state, then runs the handlers in three stages:

1. `effects`: work an event asks for before it is recorded (a `responded` event queues the
   platform reply and records how it will be delivered; registered by `app.replies`);
2. `timers`: the SLA timers follow the events (registered by `app.sla`);
3. the timeline entries of the recorded events (written here);
4. `notices`: the department events of the outbox, showing the case as it now is (registered by
   `app.delivery`).

`cases` imports none of the packages that register; `app.case_handlers` wires them and every entry
point imports it. Runs in the caller's transaction, on a case locked through `app.cases.locking`
(or new); never commits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.orm import Session

from app.cases.events import DomainEvent
from app.cases.lifecycle import CaseState
from app.cases.models import Case, CaseEvent, CaseOwner
from app.kernel.vocabulary import Status
from app.rules import RuleSet

Stage = Literal["effects", "timers", "notices"]
STAGES: tuple[Stage, ...] = ("effects", "timers", "notices")


@dataclass
class Change:
    """One change being applied: its events (an `effects` handler may replace one to add to its
    data), the rule set and the instant. `timers` is the case's full list of SLA timers when the
    `timers` stage holds it (a new case), so the notices need not read them back."""

    events: list[DomainEvent]
    ruleset: RuleSet
    now: datetime
    timers: list[Any] | None = None


Handler = Callable[[Session, Case, Change], None]
_handlers: dict[Stage, list[Handler]] = {stage: [] for stage in STAGES}


def register(stage: Stage, handler: Handler) -> None:
    """Run `handler` in `stage` of every change (once, however often it is registered)."""
    if handler not in _handlers[stage]:
        _handlers[stage].append(handler)


def registered(stage: Stage) -> tuple[Handler, ...]:
    return tuple(_handlers[stage])


def apply_changes(session: Session, case: Case, events: Sequence[DomainEvent], *, ruleset: RuleSet,
                  now: datetime, state: CaseState | None = None) -> Change:
    """Apply `state` (when given: a life-cycle outcome's) and then `events` to `case`: effects,
    SLA timers, timeline, department events, in that order. Returns the change as applied.

    Raises RuntimeError when no handler is registered for the timers or the notices (an entry
    point that forgot `import app.case_handlers` would otherwise drop timers and events silently).
    """
    if not _handlers["timers"] or not _handlers["notices"]:
        raise RuntimeError("no case-change handlers are registered: import app.case_handlers first")
    if state is not None:
        apply_state(session, case, state, now=now)
    change = Change(list(events), ruleset, now)
    for handler in _handlers["effects"]:
        handler(session, case, change)
    for handler in _handlers["timers"]:
        handler(session, case, change)
    for event in change.events:
        if event.recorded:
            record_event(session, case, type=event.type, at=now, actor_type=event.actor.type,
                         actor=event.actor.name, data=dict(event.data))
    for handler in _handlers["notices"]:
        handler(session, case, change)
    return change


def apply_state(session: Session, case: Case, state: CaseState, *, now: datetime) -> None:
    """Write a life-cycle state: status, where a waiting case returns, the acknowledgement and the
    owner. A new owner is remembered as having owned the case (for department tokens) and its own
    ticket reference is the old owner's no more."""
    if state.department != case.department:
        set_owner(session, case, state.department, now=now)
        case.external_ref = None
    case.status = state.status.value
    case.return_status = state.return_status.value if state.return_status else None
    case.acknowledged_at = (case.acknowledged_at or now) if state.acknowledged else None


def case_state(case: Case, triage: str) -> CaseState:
    """What the life cycle needs to know of `case`."""
    return CaseState(status=Status(case.status), department=case.department, triage=triage,
                     acknowledged=case.acknowledged_at is not None,
                     return_status=Status(case.return_status) if case.return_status else None)


def record_event(session: Session, case: Case, *, type: str, at: datetime, actor_type: str = "system",
                 actor: str | None = None, data: dict[str, Any] | None = None) -> CaseEvent:
    """Append one entry to the case's timeline and bump `updated_at`."""
    event = CaseEvent(case_id=case.id, type=type, actor_type=actor_type, actor=actor, at=at, data=data or {})
    session.add(event)
    case.updated_at = max(case.updated_at, at)
    return event


def set_owner(session: Session, case: Case, department: str, *, now: datetime) -> None:
    """Make `department` the owner and remember that it has owned the case (for department tokens)."""
    case.department = department
    if session.get(CaseOwner, (case.id, department)) is None:
        session.add(CaseOwner(case_id=case.id, department=department, since=now))
