"""The case life cycle (DESIGN "Case life cycle") as a pure transition function.

`transition(state, action, actor, ...)` answers the next state and what happened, or raises
`TransitionNotAllowed` naming the actions that are allowed for that actor in that state. Nothing
here reads the clock or the database; the service applies the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from app.kernel.vocabulary import Status

# The one-letter names of the DESIGN table.
O, D, C, R, X = Status.OPEN, Status.PENDING_DEPARTMENT, Status.PENDING_CUSTOMER, Status.RESOLVED, Status.CLOSED  # noqa: E741
ACTIVE = frozenset({O, D, C})
ANY = frozenset(Status)

AGENT_ACTIONS = ("claim", "assign", "priority", "respond", "notes", "handoff", "pending-customer", "resume",
                 "resolve", "close", "merge", "reopen")
DEPARTMENT_ACTIONS = ("acknowledge", "notes", "request-info", "resolve", "reroute")
ACTIONS = tuple(dict.fromkeys(AGENT_ACTIONS + DEPARTMENT_ACTIONS))

# action -> (statuses it is allowed from, who may take it)
_RULES: dict[str, tuple[frozenset[Status], frozenset[str]]] = {
    "claim": (frozenset({O, D, C, R}), frozenset({"agent"})),
    "assign": (frozenset({O, D, C, R}), frozenset({"agent"})),
    "priority": (frozenset({O, D, C, R}), frozenset({"agent"})),
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
    """The state after an action, and whether ownership changed (the old owner, for `case.rerouted`)."""

    state: CaseState
    previous_owner: str | None = None

    @property
    def owner_changed(self) -> bool:
        return self.previous_owner is not None and self.previous_owner != self.state.department


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


def transition(state: CaseState, action: str, actor: str, *, target: str | None = None) -> Outcome:
    """Apply `action` by `actor`. `target` is the department of a `handoff` or `reroute`.

    Guarantees: the result follows the DESIGN table exactly; any other (state, action, actor)
    raises TransitionNotAllowed with the allowed actions for that actor and state.
    """
    if action not in _RULES:
        raise TransitionNotAllowed(action, state.status, allowed_actions(state, actor), f"unknown action {action}")
    statuses, actors = _RULES[action]
    if state.status not in statuses or actor not in actors:
        raise TransitionNotAllowed(action, state.status, allowed_actions(state, actor))
    if action == "acknowledge" and state.acknowledged:
        raise TransitionNotAllowed(action, state.status, allowed_actions(state, actor),
                                   "the department has already acknowledged this case")
    return Outcome(*_apply(state, action, target))


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
    return state, None  # claim, assign, priority, respond, notes keep the status


def _owned_by(state: CaseState, department: str) -> CaseState:
    """A new owner: pending with it, or open with webcare when it is the triage department. A new
    owner's segment starts unacknowledged."""
    status = O if department == state.triage else D
    return replace(state, department=department, status=status, acknowledged=False, return_status=None)
