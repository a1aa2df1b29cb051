"""A case's routing history as plain records, and what it says about the rules. Pure.

The rules' choice is the department of the latest rule decision (the case's creation, or a
reclassification when the platform completed the mention later). Every handoff or reroute by a
person (an agent, a lead, ops or a department system) after it is a label: the last one is where
the humans said the case belongs. SLA escalation steps and rule handoffs are not labels.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

PERSONS = frozenset({"user", "department"})
"""The `actor_type`s of case events made by people: users (agents, leads, ops) and department systems."""
MOVES = frozenset({"handed_off", "rerouted"})


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One timeline entry as far as routing is concerned."""

    type: str
    actor_type: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CaseRecord:
    """A case with its first mention's text and its timeline, in order."""

    ref: str
    created_at: datetime
    text: str
    events: tuple[EventRecord, ...]
    account: str | None = None
    status: str = "open"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one case says about the rules.

    `rules_department`/`deciding_rule`: the latest rule decision (`deciding_rule` None: it fell to
    the default). `final_department`: where the last person moved it, else the rules' department.
    `moved_by_person`: some person handed or rerouted it after that decision."""

    ref: str
    created_at: datetime
    text: str
    account: str | None
    status: str
    rules_department: str
    deciding_rule: str | None
    final_department: str
    moved_by_person: bool

    @property
    def stayed(self) -> bool:
        """The case ended with the department the rules chose."""
        return self.final_department == self.rules_department

    @property
    def fell_to_default(self) -> bool:
        return self.deciding_rule is None


def outcome_of(case: CaseRecord) -> Outcome | None:
    """The case's outcome; None when its timeline holds no rule decision (nothing to judge)."""
    decided: tuple[str, str | None] | None = None
    final: str | None = None
    for event in case.events:
        decision = _decision(event)
        if decision is not None:
            decided, final = decision, None  # a new rule decision: earlier moves judged the old one
        elif decided is not None and event.type in MOVES and event.actor_type in PERSONS:
            target = event.data.get("to")
            if isinstance(target, str) and target:
                final = target
    if decided is None:
        return None
    department, rule = decided
    return Outcome(case.ref, case.created_at, case.text, case.account, case.status, department, rule,
                   final if final is not None else department, final is not None)


def outcomes_of(cases: Iterable[CaseRecord]) -> list[Outcome]:
    """The outcome of every case that has one, in the given order."""
    return [o for o in map(outcome_of, cases) if o is not None]


def _decision(event: EventRecord) -> tuple[str, str | None] | None:
    if event.type not in ("created", "reclassified") or event.actor_type != "rule":
        return None
    decision = event.data.get("decision")
    if not isinstance(decision, dict) or not isinstance(decision.get("department"), str):
        return None
    rule = decision.get("deciding_rule")
    return decision["department"], rule if isinstance(rule, str) else None


def rule_event(department: str, rule: str | None, *, type: str = "created") -> EventRecord:
    """A rule decision as the timeline records it (for building histories by hand)."""
    return EventRecord(type, "rule", {"decision": {"department": department, "deciding_rule": rule}})


def move_event(to: str, *, by: str = "user", type: str = "handed_off") -> EventRecord:
    """A handoff (or `type="rerouted"`) to `to` by `by` as the timeline records it."""
    return EventRecord(type, by, {"to": to})

