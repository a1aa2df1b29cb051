"""Case actions (SPEC §2 "Case actions"): authorise, apply the pure transition, record the timeline
and write the outbox events, all in the caller's transaction. Never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.service import Principal
from app.cases.lifecycle import AGENT_ACTIONS, DEPARTMENT_ACTIONS, CaseState, Outcome, TransitionNotAllowed, transition
from app.cases.locking import lock_case
from app.cases.models import Case, parse_ref
from app.cases.service import record_event, set_owner
from app.delivery.outbox import emit
from app.kernel.errors import Conflict, Forbidden, InvalidInput
from app.kernel.vocabulary import Status
from app.mentions.stored import StoredMention
from app.replies.service import queue_reply
from app.rules import RuleSet
from app.sla.hooks import on_action

TIMELINE_TYPE = {
    "claim": "claimed", "assign": "assigned", "priority": "priority_changed", "respond": "responded",
    "notes": "note_added", "handoff": "handed_off", "reroute": "rerouted", "acknowledge": "acknowledged",
    "request-info": "info_requested", "pending-customer": "pending_customer", "resume": "resumed",
    "resolve": "resolved", "close": "closed", "merge": "merged", "reopen": "reopened",
}
# The outbox event each action sends to the owner (None: webcare-internal, timeline only).
EVENT_TYPE: dict[str, str | None] = {
    "claim": None, "assign": None, "respond": None, "acknowledge": None,
    "priority": "case.updated", "notes": "case.updated", "request-info": "case.updated",
    "pending-customer": "case.updated", "resume": "case.updated",
    "handoff": "case.handed_off", "reroute": "case.rerouted", "resolve": "case.resolved",
    "close": "case.closed", "merge": "case.closed", "reopen": "case.reopened",
}


@dataclass(frozen=True)
class ActionRequest:
    """An action and its parameters as the API received them (already shape-validated)."""

    name: str
    params: dict[str, Any]


def actor_kind(principal: Principal) -> str:
    """`agent` for any user (leads and ops act as agents), `department` for a department token;
    system actors (`escalation`, `rule`) act as themselves."""
    if principal.kind in ("department", "escalation", "rule"):
        return principal.kind
    return "agent"


def perform_action(session: Session, case: Case, request: ActionRequest, *, principal: Principal,
                   ruleset: RuleSet, now: datetime) -> Case:
    """Carry out `request` on `case` for `principal`. `case` must have been loaded through
    `app.cases.locking` in this transaction, so the transition is decided on its current state.

    Raises Forbidden (a department acting on a case it does not own now; an agent assigning to
    someone else), InvalidInput (an unknown department, user or target case) and Conflict (a
    transition the life cycle does not allow; `allowed` names the actions that are).
    """
    kind = actor_kind(principal)
    permitted = {"agent": AGENT_ACTIONS, "department": DEPARTMENT_ACTIONS}.get(kind)
    if permitted is not None and request.name not in permitted:
        who = "department systems" if kind == "department" else "users"
        raise Forbidden(f"{request.name} is not an action {who} take")
    if kind == "department" and case.department != principal.department:
        raise Forbidden(f"{principal.department} does not own {case.ref}; only its owner may act on it")
    target = _target_department(request, ruleset)
    if target is not None and target == case.department and request.name in ("handoff", "reroute"):
        raise Conflict(f"{case.ref} is already owned by {target}", allowed=[])
    state = CaseState(status=Status(case.status), department=case.department, triage=ruleset.triage_department,
                      acknowledged=case.acknowledged_at is not None,
                      return_status=Status(case.return_status) if case.return_status else None)
    try:
        outcome = transition(state, request.name, kind, target=target)
    except TransitionNotAllowed as exc:
        raise Conflict(str(exc), allowed=exc.allowed) from exc
    data = _apply_effects(session, case, request, principal=principal, outcome=outcome, now=now)
    if request.name == "respond":  # `send: true` on a platform connector: sent after the commit
        data.update(queue_reply(session, case, text=request.params["text"], send=bool(request.params.get("send")),
                                ruleset=ruleset, actor=principal.name, now=now))
    _apply_state(session, case, outcome, now=now)
    on_action(session, case, request.name, owner_changed=outcome.owner_changed, ruleset=ruleset, now=now,
              by_department=kind == "department")
    record_event(session, case, type=TIMELINE_TYPE[request.name], at=now, actor_type=principal.kind,
                 actor=principal.name, data=data)
    _send_events(session, case, request, principal=principal, outcome=outcome, ruleset=ruleset, now=now,
                 data=data)
    session.flush()
    return case


def _target_department(request: ActionRequest, ruleset: RuleSet) -> str | None:
    department = request.params.get("department")
    if request.name not in ("handoff", "reroute") or department is None:
        return None
    if department not in ruleset.departments:
        raise InvalidInput([{"field": "department",
                                  "message": f"unknown department; known: {', '.join(sorted(ruleset.departments))}"}])
    return str(department)


def _apply_state(session: Session, case: Case, outcome: Outcome, *, now: datetime) -> None:
    state = outcome.state
    if outcome.owner_changed:
        set_owner(session, case, state.department, now=now)
        case.external_ref = None
    case.status = state.status.value
    case.return_status = state.return_status.value if state.return_status else None
    case.acknowledged_at = (case.acknowledged_at or now) if state.acknowledged else None


def _apply_effects(session: Session, case: Case, request: ActionRequest, *, principal: Principal,
                   outcome: Outcome, now: datetime) -> dict[str, Any]:
    """The action's own changes beyond status and owner; returns the timeline data."""
    name, params = request.name, request.params
    data: dict[str, Any] = {k: v for k, v in params.items() if v is not None}
    if name == "claim":
        case.assignee = session.get(User, principal.user_id) if principal.user_id is not None else None
    elif name == "assign":
        user = session.scalar(select(User).where(User.username == params["user"], User.active.is_(True)))
        if user is None:
            raise InvalidInput([{"field": "user", "message": "no active user of that name"}])
        if not principal.has_role("lead") and user.id != principal.user_id:
            raise Forbidden("agents may assign cases only to themselves; leads assign to anyone")
        case.assignee = user
    elif name == "priority":
        data["from"] = case.priority
        case.priority = params["priority"]
    elif name == "respond":
        pass  # the platform reply is queued by the hook in perform_action (it needs the rule set)
    elif name == "acknowledge":
        if params.get("external_ref"):
            case.external_ref = params["external_ref"]
    elif name in ("handoff", "reroute"):
        data.update({"from": case.department, "to": outcome.state.department})
    elif name == "merge":
        data["into"] = _merge(session, case, params["into"], principal=principal, now=now)
    return data


def _merge(session: Session, case: Case, into_ref: str, *, principal: Principal, now: datetime) -> str:
    into_id = parse_ref(into_ref)
    target = lock_case(session, into_id) if into_id is not None else None
    if target is None or target.id == case.id:
        raise InvalidInput([{"field": "into", "message": "name another existing case"}])
    if target.status == Status.CLOSED.value:
        raise Conflict(f"{target.ref} is closed; reopen it first or merge the other way", allowed=[])
    moved = session.execute(update(StoredMention).where(StoredMention.case_id == case.id)
                            .values(case_id=target.id).returning(StoredMention.external_id)).scalars().all()
    case.merged_into_id = target.id
    target.last_mention_at = max(target.last_mention_at, case.last_mention_at)
    record_event(session, target, type="merged_in", at=now, actor_type=principal.kind, actor=principal.name,
                 data={"from": case.ref, "mentions": list(moved)})
    return target.ref


def _send_events(session: Session, case: Case, request: ActionRequest, *, principal: Principal,
                 outcome: Outcome, ruleset: RuleSet, now: datetime, data: dict[str, Any]) -> None:
    event_type = EVENT_TYPE[request.name]
    extra = {"action": request.name, "actor": {"type": principal.kind, "name": principal.name}, **data}
    if event_type is not None:
        emit(session, case, type=event_type, now=now, ruleset=ruleset, extra=extra,
             also=[outcome.previous_owner] if outcome.owner_changed else [])
    if request.name == "merge":
        target = session.get_one(Case, case.merged_into_id)
        emit(session, target, type="case.mention_added", now=now, ruleset=ruleset,
             extra={"action": "merge", "from": case.ref})
