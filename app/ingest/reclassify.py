"""Classify a case again after its opening mention was completed (an Instagram mention's text read
after the commit), as long as nobody has touched the case yet. Service functions: never commit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from app.cases.changes import apply_changes, case_state
from app.cases.events import Actor, DomainEvent, notified
from app.cases.lifecycle import rules_route
from app.cases.models import Case, CaseEvent
from app.cases.service import add_tags, routing_json
from app.mentions.stored import StoredMention, as_mention
from app.rules import RuleSet, classify
from app.rules.hits import record_hits

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
    record_hits(session, [decision], now=now)
    row.decision = decision.to_json()
    before = {"department": case.department, "category": case.category, "priority": case.priority,
              "sla_policy": case.sla_policy, "tags": list(case.tags)}
    case.category, case.priority, case.sla_policy = decision.category, decision.priority, decision.sla_policy
    add_tags(case, decision.tags)
    case.routing = routing_json(decision)
    case.ruleset_version = decision.ruleset_version
    rule = Actor("rule", decision.deciding_rule)
    outcome = rules_route(case_state(case, ruleset.triage_department), decision.department, by=rule)
    after = {"department": outcome.state.department, "category": case.category, "priority": case.priority,
             "sla_policy": case.sla_policy, "tags": sorted(set(before["tags"]) | set(decision.tags))}
    if after == {**before, "tags": sorted(before["tags"])}:
        return False
    # The timers follow as after a priority change (policy and priority recomputed, used time
    # kept) and, for a new owner, as after a handoff (a new department_ack segment).
    events = [DomainEvent("reclassified", rule, {"from": before, "to": after, "decision": decision.to_json()}),
              *outcome.events]
    if decision.notify:
        events.append(notified(decision.notify, by=rule, recorded=False))
    apply_changes(session, case, events, ruleset=ruleset, now=now, state=outcome.state)
    return True
