"""The case life cycle (README "Case life cycle") as a pure transition function.

`transition(state, action, actor, ...)` answers the next state and what happened (domain events:
handed off, resolved, reopened, ...), or raises `TransitionNotAllowed` naming the actions that are
allowed for that actor in that state. `opening`, `customer_wrote` and `rules_route` do the same for
a new case, a customer writing again and a reclassification. Every status a case takes comes from
here; nothing here reads the clock or the database: `app.cases.changes.apply_changes` applies the
outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from app.cases.events import Actor, DomainEvent, handed_off
from app.kernel.vocabulary import Status

# One-letter names for the statuses, so the table below reads as a table.
O, D, C, R, X = Status.OPEN, Status.PENDING_DEPARTMENT, Status.PENDING_CUSTOMER, Status.RESOLVED, Status.CLOSED  # noqa: E741
ACTIVE = frozenset({O, D, C})
ANY = frozenset(Status)

AGENT_ACTIONS = ("claim", "assign", "priority", "tag", "respond", "notes", "handoff", "pending-customer", "resume",
                 "resolve", "close", "merge", "reopen")
DEPARTMENT_ACTIONS = ("acknowledge", "notes", "request-info", "resolve", "reroute")
ACTIONS = tuple(dict.fromkeys(AGENT_ACTIONS + DEPARTMENT_ACTIONS))

# action -> (statuses it is allowed from, who may take it)
_RULES: dict[str, tuple[frozenset[Status], frozenset[str]]] = {
    "claim": (frozenset({O, D, C, R}), frozenset({"agent"})),
    "assign": (frozenset({O, D, C, R}), frozenset({"agent"})),
    "priority": (frozenset({O, D, C, R}), frozenset({"agent"})),
    "tag": (frozenset({O, D, C, R}), frozenset({"agent"})),
    "respond": (frozenset({O, D, C, R}), frozenset({"agent"})),
    "notes": (ANY, frozenset({"agent", "department"})),
    "handoff": (frozenset({O, D}), frozenset({"agent", "rule", "escalation"})),
    "reroute": (ACTIVE, frozenset({"department"})),
    "acknowledge": (ACTIVE, frozenset({"department"})),
    "request-info": (frozenset({D}), frozenset({"department"})),
    "pending-customer": (frozenset({O, D}), frozenset({"agent"})),
    "resume": (frozenset({C}), frozenset({"agent", "customer"})),
    "resolve": (ACTIVE, frozenset({"agent", "department"})),
    "close": (frozenset({O, D, C, R}), frozenset({"agent"})),
    "merge": (frozenset({O, D, C, R}), frozenset({"agent"})),
    "reopen": (frozenset({R, X}), frozenset({"agent"})),
}

# What each action is called on the timeline.
TIMELINE_TYPE = {
    "claim": "claimed", "assign": "assigned", "priority": "priority_changed", "tag": "tagged", "respond": "responded",
    "notes": "note_added", "handoff": "handed_off", "reroute": "rerouted", "acknowledge": "acknowledged",
    "request-info": "info_requested", "pending-customer": "pending_customer", "resume": "resumed",
    "resolve": "resolved", "close": "closed", "merge": "merged", "reopen": "reopened",
}
# The department event each action sends to the owner (None: webcare-internal, timeline only).
NOTICE_TYPE: dict[str, str | None] = {
    "claim": None, "assign": None, "respond": None, "acknowledge": None, "tag": None,
    "priority": "case.updated", "notes": "case.updated", "request-info": "case.updated",
    "pending-customer": "case.updated", "resume": "case.updated",
    "handoff": "case.handed_off", "reroute": "case.rerouted", "resolve": "case.resolved",
    "close": "case.closed", "merge": "case.closed", "reopen": "case.reopened",
}


@dataclass(frozen=True)
class CaseState:
    """What the life cycle needs to know of a case.

    `department` is the owner; `triage` the triage department; `acknowledged` whether the current
    owner's segment has been acknowledged; `return_status` where a `pending_customer` case returns.
    """

    status: Status
    department: str
    triage: str
    acknowledged: bool = False
    return_status: Status | None = None


@dataclass(frozen=True)
class Outcome:
    """The state after a change, whether ownership changed (the old owner, for `case.rerouted`), and
    what happened (`events`, in the order the timeline shows them)."""

    state: CaseState
    previous_owner: str | None = None
    events: tuple[DomainEvent, ...] = ()

    @property
    def owner_changed(self) -> bool:
        return self.previous_owner is not None and self.previous_owner != self.state.department

    def with_details(self, details: Mapping[str, Any]) -> Outcome:
        """The outcome with the action's parameters and effects added to its events' data."""
        return replace(self, events=tuple(replace(e, data={**details, **e.data}) for e in self.events))


class TransitionNotAllowed(Exception):
    """The action is not allowed for this actor in this state; `allowed` lists what is."""

    def __init__(self, action: str, status: Status, allowed: list[str], reason: str | None = None):
        super().__init__(reason or f"{action} is not allowed when the case is {status.value}")
        self.action = action
        self.status = status
        self.allowed = allowed


def allowed_actions(state: CaseState, actor: str, *, owns: bool = True) -> list[str]:
    """The actions `actor` ("agent", "department", ...) may take on a case in `state`.
    A department may act only on cases it owns now (`owns`)."""
    if actor == "department" and not owns:
        return []
    names = [name for name, (statuses, actors) in _RULES.items() if state.status in statuses and actor in actors]
    if state.acknowledged and "acknowledge" in names:
        names.remove("acknowledge")
    return names


def transition(state: CaseState, action: str, actor: str, *, target: str | None = None,
               by: Actor | None = None) -> Outcome:
    """Apply `action` by `actor` (the role: `agent`, `department`, `rule`, `escalation`, `customer`).
    `target` is the department of a `handoff` or `reroute`; `by` who acted, for the events (the
    role itself when not given).

    Guarantees: the result follows the life-cycle table exactly and carries one event named after
    the action (`handed_off`, `resolved`, ...; a handoff or reroute with `from` and `to`); any other
    (state, action, actor) raises TransitionNotAllowed with the allowed actions for that actor and state.
    """
    if action not in _RULES:
        raise TransitionNotAllowed(action, state.status, allowed_actions(state, actor), f"unknown action {action}")
    statuses, actors = _RULES[action]
    if state.status not in statuses or actor not in actors:
        raise TransitionNotAllowed(action, state.status, allowed_actions(state, actor))
    if action == "acknowledge" and state.acknowledged:
        raise TransitionNotAllowed(action, state.status, allowed_actions(state, actor),
                                   "the department has already acknowledged this case")
    after, previous_owner = _apply(state, action, target)
    outcome = Outcome(after, previous_owner)
    return replace(outcome, events=(_action_event(action, state, outcome, by or Actor(actor)),))


def _action_event(action: str, before: CaseState, outcome: Outcome, by: Actor) -> DomainEvent:
    if action == "handoff":
        return handed_off(before.department, outcome.state.department, by=by, action=action)
    moved = {"from": before.department, "to": outcome.state.department} if action == "reroute" else {}
    return DomainEvent(TIMELINE_TYPE[action], by, moved, notice=NOTICE_TYPE[action], action=action,
                       also=(before.department,) if outcome.owner_changed else ())


def opening(department: str, triage: str, *, by: Actor) -> Outcome:
    """A new case routed to `department`: open for webcare when that is the triage department,
    else handed off to it at once (`pending_department`, `case.handed_off` to it)."""
    state = _owned_by(CaseState(status=O, department=triage, triage=triage), department)
    if department == triage:
        return Outcome(state)
    return Outcome(state, events=(handed_off(triage, department, by=by, losing_owner=False),))


def customer_wrote(state: CaseState) -> Outcome:
    """The customer wrote again on a case that is not closed: a resolved case reopens
    (`case.reopened`); a case waiting for the customer returns to whose turn it was; any other
    case keeps its status."""
    customer = Actor("customer")
    if state.status == R:
        return Outcome(replace(state, status=O), events=(DomainEvent(
            "reopened", customer, {"reason": "the customer wrote again"}, notice="case.reopened",
            notice_data={"actor": customer.to_json()}),))
    if state.status == C:
        after = replace(state, status=state.return_status or O, return_status=None)
        return Outcome(after, events=(DomainEvent("resumed", customer, {"to": after.status.value}),))
    return Outcome(state)


def rules_route(state: CaseState, department: str, *, by: Actor) -> Outcome:
    """The rules route a case anew (its opening mention was completed): a new owner receives it as
    from a rule's handoff; an open or pending_department case takes the status a handoff gives it,
    any other status is kept. The same department: nothing happens."""
    if department == state.department:
        return Outcome(state)
    if state.status in (O, D):
        after = _owned_by(state, department)
    else:
        after = replace(state, department=department, acknowledged=False)
    return Outcome(after, state.department, events=(handed_off(state.department, department, by=by),))


def _apply(state: CaseState, action: str, target: str | None) -> tuple[CaseState, str | None]:
    if action == "handoff":
        if target is None:
            raise ValueError("handoff needs a department")
        return _owned_by(state, target), state.department
    if action == "reroute":
        return _owned_by(state, target or state.triage), state.department
    if action == "acknowledge":
        return replace(state, acknowledged=True), None
    if action == "request-info":
        return replace(state, status=O), None
    if action == "pending-customer":
        back = D if state.department != state.triage else O
        return replace(state, status=C, return_status=back), None
    if action == "resume":
        return replace(state, status=state.return_status or O, return_status=None), None
    if action == "resolve":
        return replace(state, status=R, return_status=None), None
    if action in ("close", "merge"):
        return replace(state, status=X, return_status=None), None
    if action == "reopen":
        return replace(state, status=O, return_status=None), None
    return state, None  # claim, assign, priority, tag, respond, notes keep the status


def _owned_by(state: CaseState, department: str) -> CaseState:
    """A new owner: pending with it, or open with webcare when it is the triage department. A new
    owner's segment starts unacknowledged."""
    status = O if department == state.triage else D
    return replace(state, department=department, status=status, acknowledged=False, return_status=None)
