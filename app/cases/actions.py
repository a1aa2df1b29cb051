"""Case actions: authorise, decide with the pure life cycle, carry out the action's own effects
(assignee, priority, merge) and apply what happened through `app.cases.changes.apply_changes`
(timeline, SLA timers, outbox, platform reply), all in the caller's transaction. Never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.service import Principal
from app.cases.changes import apply_changes, case_state
from app.cases.events import Actor, DomainEvent
from app.cases.lifecycle import AGENT_ACTIONS, DEPARTMENT_ACTIONS, TransitionNotAllowed, transition
from app.cases.locking import lock_case
from app.cases.models import Case
from app.cases.service import add_tags
from app.kernel.errors import Conflict, Forbidden, InvalidInput
from app.kernel.refs import parse_ref
from app.kernel.vocabulary import Status
from app.mentions.stored import StoredMention
from app.rules import RuleSet


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
    by = Actor(principal.kind, principal.name)
    try:
        outcome = transition(case_state(case, ruleset.triage_department), request.name, kind, target=target, by=by)
    except TransitionNotAllowed as exc:
        raise Conflict(str(exc), allowed=exc.allowed) from exc
    details, moved = _apply_effects(session, case, request, principal=principal)
    # A `respond` with `send: true` on a platform connector queues the reply (the `effects` stage of
    # app.cases.changes), sent after the commit.
    apply_changes(session, case, outcome.with_details(details).events, ruleset=ruleset, now=now, state=outcome.state)
    if request.name == "merge":  # the case the mentions moved to shows them and tells its owner
        target_case = session.get_one(Case, case.merged_into_id)
        apply_changes(session, target_case, [DomainEvent("merged_in", by, {"from": case.ref, "mentions": moved},
                                                         notice="case.mention_added",
                                                         notice_data={"action": "merge", "from": case.ref})],
                      ruleset=ruleset, now=now)
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


def _apply_effects(session: Session, case: Case, request: ActionRequest, *,
                   principal: Principal) -> tuple[dict[str, Any], list[str]]:
    """The action's own changes beyond status and owner; returns the timeline data and, for a
    merge, the external ids of the mentions moved."""
    name, params = request.name, request.params
    moved: list[str] = []
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
    elif name == "tag":
        data["tags"] = add_tags(case, params["tags"])
    elif name == "acknowledge":
        if params.get("external_ref"):
            case.external_ref = params["external_ref"]
    elif name == "merge":
        data["into"], moved = _merge(session, case, params["into"])
    return data, moved


def _merge(session: Session, case: Case, into_ref: str) -> tuple[str, list[str]]:
    """Move the case's mentions to the case `into_ref` names (locked too); returns its ref and
    the external ids of the mentions moved."""
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
    return target.ref, list(moved)
