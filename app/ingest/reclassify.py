"""Classify a case again after its opening mention was completed (an Instagram mention's text read
after the commit), as long as nobody has touched the case yet. Service functions: never commit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from app.cases.models import Case, CaseEvent
from app.cases.service import add_tags, record_event, routing_json, set_owner
from app.delivery.outbox import emit
from app.mentions.stored import StoredMention, as_mention
from app.rules import RuleSet, classify
from app.sla.hooks import on_action

UNTOUCHED_ACTORS = ("rule", "system", "customer")


def untouched(session: Session, case: Case, row: StoredMention) -> bool:
    """True when `row` opened `case` and since then only rules, the system and the customer acted
    on it: no agent, lead, department or escalation, and nobody is assigned."""
    first = session.scalar(select(StoredMention.id).where(StoredMention.case_id == case.id)
                           .order_by(StoredMention.received_at, StoredMention.id).limit(1))
    acted = session.scalar(select(exists().where(CaseEvent.case_id == case.id,
                                                 CaseEvent.actor_type.not_in(UNTOUCHED_ACTORS))))
    return first == row.id and not acted and case.assignee_id is None and case.merged_into_id is None


def reclassify_case(session: Session, case: Case, row: StoredMention, *, ruleset: RuleSet, now: datetime) -> bool:
    """Route `case` as the rules decide for the completed `row` now; returns whether anything
    changed. Tags are only added; a new owner receives the case as from a rule's handoff."""
    decision = classify(ruleset, as_mention(row), row.received_at, connector=row.connector)
    row.decision = decision.to_json()
    before = {"department": case.department, "category": case.category, "priority": case.priority,
              "sla_policy": case.sla_policy, "tags": list(case.tags)}
    case.category, case.priority, case.sla_policy = decision.category, decision.priority, decision.sla_policy
    add_tags(case, decision.tags)
    case.routing = routing_json(decision)
    case.ruleset_version = decision.ruleset_version
    moved = decision.department != case.department
    if moved:
        set_owner(session, case, decision.department, now=now)
        case.acknowledged_at = None
        case.external_ref = None
        if case.status in ("open", "pending_department"):
            case.status = "open" if decision.department == ruleset.triage_department else "pending_department"
    after = {"department": case.department, "category": case.category, "priority": case.priority,
             "sla_policy": case.sla_policy, "tags": sorted(set(before["tags"]) | set(decision.tags))}
    if after == {**before, "tags": sorted(before["tags"])}:
        return False
    record_event(session, case, type="reclassified", at=now, actor_type="rule", actor=decision.deciding_rule,
                 data={"from": before, "to": after, "decision": decision.to_json()})
    # The timers follow as after a handoff (a new department_ack segment) or a priority change
    # (policy and priority recomputed, used time kept).
    on_action(session, case, "handoff" if moved else "priority", owner_changed=moved, ruleset=ruleset, now=now)
    if moved:
        record_event(session, case, type="handed_off", at=now, actor_type="rule", actor=decision.deciding_rule,
                     data={"from": before["department"], "to": case.department})
        emit(session, case, type="case.handed_off", now=now, ruleset=ruleset,
             extra={"actor": {"type": "rule", "name": decision.deciding_rule}, "from": before["department"],
                    "to": case.department})
    if decision.notify:
        emit(session, case, type="case.notified", now=now, ruleset=ruleset, only=decision.notify,
             extra={"actor": {"type": "rule", "name": decision.deciding_rule}})
    return True
