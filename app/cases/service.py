"""Opening cases, adding mentions to them and recording their timeline. Never commits."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.cases.models import Case, CaseEvent, CaseOwner, CaseTag
from app.delivery.outbox import emit
from app.kernel.vocabulary import higher_priority
from app.mentions.model import Mention
from app.rules import Decision, RuleSet
from app.sla.hooks import on_case_opened, on_customer_mention


def author_key(mention: Mention) -> str | None:
    """What identifies an author on a channel: the platform's id, else the handle (case-folded)."""
    if mention.author.id:
        return f"id:{mention.author.id}"
    if mention.author.handle:
        return f"handle:{mention.author.handle.casefold()}"
    return None


def routing_json(decision: Decision) -> dict[str, Any]:
    """The case's routing explanation (SPEC §2 Case JSON `routing`)."""
    return {
        "ruleset_version": decision.ruleset_version,
        "rule_ids": list(decision.matched_rules),
        "deciding_rule": decision.deciding_rule,
        "spans": [{"rule_id": s.rule_id, "start": s.start, "end": s.end} for s in decision.spans],
    }


def record_event(session: Session, case: Case, *, type: str, at: datetime, actor_type: str = "system",
                 actor: str | None = None, data: dict[str, Any] | None = None) -> CaseEvent:
    """Append one entry to the case's timeline and bump `updated_at`."""
    event = CaseEvent(case_id=case.id, type=type, actor_type=actor_type, actor=actor, at=at, data=data or {})
    session.add(event)
    case.updated_at = max(case.updated_at, at)
    return event


def add_tags(case: Case, tags: tuple[str, ...] | list[str]) -> list[str]:
    """Add the tags the case lacks; returns the ones added."""
    present = set(case.tags)
    added = [t for t in dict.fromkeys(tags) if t not in present]
    case.tag_rows.extend(CaseTag(tag=t) for t in added)
    return added


def set_owner(session: Session, case: Case, department: str, *, now: datetime) -> None:
    """Make `department` the owner and remember that it has owned the case (for department tokens)."""
    case.department = department
    if session.get(CaseOwner, (case.id, department)) is None:
        session.add(CaseOwner(case_id=case.id, department=department, since=now))


def open_case(session: Session, *, mention: Mention, connector: str, decision: Decision, ruleset: RuleSet,
              now: datetime, linked_case: Case | None = None) -> Case:
    """A new case for `mention`, routed as `decision` says.

    A case for any department but triage is handed off to it at once (`pending_department`) and
    that department receives `case.handed_off`; otherwise it is `open` for webcare. Departments the
    rules notify receive `case.notified`. The timeline records the creation with the full decision
    and, when they happened, the handoff and the notifications.
    """
    triage = ruleset.triage_department
    handed_off = decision.department != triage
    case = Case(
        status="pending_department" if handed_off else "open",
        department=decision.department, category=decision.category, priority=decision.priority,
        sla_policy=decision.sla_policy, channel=mention.channel, connector=connector, account=mention.account,
        account_name=_account_name(ruleset, connector, mention.account),
        author=asdict(mention.author), author_key=author_key(mention),
        routing=routing_json(decision), ruleset_version=decision.ruleset_version,
        linked_case_id=linked_case.id if linked_case else None,
        created_at=now, updated_at=now, last_mention_at=now,
    )
    case.tag_rows = [CaseTag(tag=t) for t in dict.fromkeys(decision.tags)]
    session.add(case)
    session.flush()
    # A new case: its first owner cannot be recorded yet (set_owner would look it up first).
    session.add(CaseOwner(case_id=case.id, department=decision.department, since=now))
    timers = on_case_opened(session, case, ruleset=ruleset, now=now)
    record_event(session, case, type="created", at=now, actor_type="rule", actor=decision.deciding_rule,
                 data={"decision": decision.to_json(),
                       **({"linked_case": linked_case.ref} if linked_case else {})})
    rule = {"actor": {"type": "rule", "name": decision.deciding_rule}}
    if handed_off:
        record_event(session, case, type="handed_off", at=now, actor_type="rule", actor=decision.deciding_rule,
                     data={"from": triage, "to": decision.department})
        emit(session, case, type="case.handed_off", now=now, ruleset=ruleset, timers=timers,
             extra={**rule, "from": triage, "to": decision.department})
    if decision.notify:
        record_event(session, case, type="notified", at=now, actor_type="rule", actor=decision.deciding_rule,
                     data={"departments": list(decision.notify)})
        emit(session, case, type="case.notified", now=now, ruleset=ruleset, only=decision.notify, extra=rule,
             timers=timers)
    return case


def _account_name(ruleset: RuleSet, connector: str, account: str | None) -> str | None:
    config = ruleset.connectors.get(connector)
    return config.account_name(account) if config is not None else None


def add_mention_to_case(session: Session, case: Case, *, mention_external_id: str, decision: Decision,
                        ruleset: RuleSet, now: datetime, joined_by: str) -> None:
    """A customer wrote again on an existing case that is not closed.

    Ownership and category stay (a reroute is an explicit action, not a side effect of a message);
    the new mention's tags are added and its priority can only raise the case's. A resolved case
    reopens (`case.reopened`); a case waiting for the customer returns to whose turn it was. The
    owner receives `case.mention_added`, and departments the rules notify `case.notified`.
    """
    case.last_mention_at = max(case.last_mention_at, now)
    record_event(session, case, type="mention_added", at=now, actor_type="customer",
                 data={"external_id": mention_external_id, "joined_by": joined_by,
                       "decision": decision.to_json()})
    added = add_tags(case, decision.tags)
    if added:
        record_event(session, case, type="tagged", at=now, actor_type="rule", actor=decision.deciding_rule,
                     data={"tags": added})
    raised = higher_priority(case.priority, decision.priority)
    priority_changed = raised != case.priority
    reopened = resumed = False
    if priority_changed:
        record_event(session, case, type="priority_changed", at=now, actor_type="rule",
                     actor=decision.deciding_rule, data={"from": case.priority, "to": raised})
        case.priority = raised
    if case.status == "resolved":
        case.status, reopened = "open", True
        record_event(session, case, type="reopened", at=now, actor_type="customer",
                     data={"reason": "the customer wrote again"})
        emit(session, case, type="case.reopened", now=now, ruleset=ruleset,
             extra={"actor": {"type": "customer", "name": None}})
    elif case.status == "pending_customer":
        case.status, case.return_status, resumed = case.return_status or "open", None, True
        record_event(session, case, type="resumed", at=now, actor_type="customer", data={"to": case.status})
    on_customer_mention(session, case, reopened=reopened, resumed=resumed, priority_changed=priority_changed,
                        ruleset=ruleset, now=now)
    emit(session, case, type="case.mention_added", now=now, ruleset=ruleset,
         extra={"mention": {"external_id": mention_external_id}})
    if decision.notify:
        emit(session, case, type="case.notified", now=now, ruleset=ruleset, only=decision.notify,
             extra={"actor": {"type": "rule", "name": decision.deciding_rule}})
