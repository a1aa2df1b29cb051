"""Opening cases, adding mentions to them and recording their timeline. Never commits."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.cases.changes import apply_changes, case_state
from app.cases.events import Actor, DomainEvent, notified
from app.cases.lifecycle import customer_wrote, opening
from app.cases.models import Case, CaseOwner, CaseTag
from app.kernel.vocabulary import higher_priority
from app.mentions.model import Mention
from app.rules import Decision, RuleSet


def author_key(mention: Mention) -> str | None:
    """What identifies an author on a channel: the platform's id, else the handle (case-folded)."""
    if mention.author.id:
        return f"id:{mention.author.id}"
    if mention.author.handle:
        return f"handle:{mention.author.handle.casefold()}"
    return None


def routing_json(decision: Decision) -> dict[str, Any]:
    """The case's routing explanation (the case JSON's `routing`)."""
    return {
        "ruleset_version": decision.ruleset_version,
        "rule_ids": list(decision.matched_rules),
        "deciding_rule": decision.deciding_rule,
        "spans": [{"rule_id": s.rule_id, "start": s.start, "end": s.end} for s in decision.spans],
    }


def add_tags(case: Case, tags: tuple[str, ...] | list[str]) -> list[str]:
    """Add the tags the case lacks; returns the ones added."""
    present = set(case.tags)
    added = [t for t in dict.fromkeys(tags) if t not in present]
    case.tag_rows.extend(CaseTag(tag=t) for t in added)
    return added


def open_case(session: Session, *, mention: Mention, connector: str, decision: Decision, ruleset: RuleSet,
              now: datetime, linked_case: Case | None = None) -> Case:
    """A new case for `mention`, routed as `decision` says.

    A case for any department but triage is handed off to it at once (`pending_department`) and
    that department receives `case.handed_off`; otherwise it is `open` for webcare. Departments the
    rules notify receive `case.notified`. The timeline records the creation with the full decision
    and, when they happened, the handoff and the notifications.
    """
    rule = Actor("rule", decision.deciding_rule)
    outcome = opening(decision.department, ruleset.triage_department, by=rule)
    case = Case(
        status=outcome.state.status.value,
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
    created = DomainEvent("created", rule, {"decision": decision.to_json(),
                                            **({"linked_case": linked_case.ref} if linked_case else {})})
    events = [created, *outcome.events]
    if decision.notify:
        events.append(notified(decision.notify, by=rule, recorded=True))
    apply_changes(session, case, events, ruleset=ruleset, now=now)
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
    rule = Actor("rule", decision.deciding_rule)
    events = [DomainEvent("mention_added", Actor("customer"),
                          {"external_id": mention_external_id, "joined_by": joined_by,
                           "decision": decision.to_json()},
                          notice="case.mention_added", notice_data={"mention": {"external_id": mention_external_id}})]
    added = add_tags(case, decision.tags)
    if added:
        events.append(DomainEvent("tagged", rule, {"tags": added}))
    raised = higher_priority(case.priority, decision.priority)
    if raised != case.priority:
        events.append(DomainEvent("priority_changed", rule, {"from": case.priority, "to": raised}))
        case.priority = raised
    outcome = customer_wrote(case_state(case, ruleset.triage_department))
    events.extend(outcome.events)
    if decision.notify:
        events.append(notified(decision.notify, by=rule, recorded=False))
    apply_changes(session, case, events, ruleset=ruleset, now=now, state=outcome.state)
