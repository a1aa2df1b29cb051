"""Every case change goes through `app.cases.changes.apply_changes`: a handoff has the same effects
whoever makes it (an agent, an SLA escalation, the rules routing a completed mention again), and a
change with no handler registered is refused instead of losing its timers and events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.service import Principal
from app.cases import changes
from app.cases.actions import ActionRequest, perform_action
from app.cases.events import Actor, DomainEvent
from app.cases.locking import lock_existing_case
from app.cases.models import Case, CaseEvent, CaseOwner
from app.delivery.models import DepartmentEvent
from app.ingest.reclassify import reclassify_case
from app.ingest.service import ingest_mentions
from app.ingest.standard import ParsedItem
from app.kernel.clock import utc_now
from app.mentions.model import Author, Mention
from app.mentions.stored import StoredMention
from app.rules import RuleSet, load_ruleset
from app.sla.models import SlaTimer
from app.sla.sweeper import ESCALATION
from tests.conftest import BASIC_RULES

AGENT = Principal(kind="user", name="ann", role="agent")


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return load_ruleset(BASIC_RULES)


def billing_case(session: Session, ruleset: RuleSet) -> Case:
    """A new case the rules hand off to billing at once."""
    mention = Mention(external_id="m-1", channel="x", text="Mijn factuur klopt niet", author=Author(handle="@jan"))
    result = ingest_mentions(session, ruleset=ruleset, connector="listening-tool",
                             items=[ParsedItem(mention, {})], received_at=utc_now() - timedelta(minutes=5))
    case = session.scalars(select(Case)).one()
    assert (result.cases, case.department, case.status) == ([case.ref], "billing", "pending_department")
    return case


def by_agent(session: Session, case: Case, ruleset: RuleSet) -> None:
    perform_action(session, case, ActionRequest("handoff", {"department": "network"}), principal=AGENT,
                   ruleset=ruleset, now=utc_now())


def by_escalation(session: Session, case: Case, ruleset: RuleSet) -> None:
    perform_action(session, case, ActionRequest("handoff", {"department": "network", "reason": "SLA escalation"}),
                   principal=ESCALATION, ruleset=ruleset, now=utc_now())


def by_rules(session: Session, case: Case, ruleset: RuleSet) -> None:
    row = session.scalars(select(StoredMention)).one()
    row.text = "Al 3 uur STORING bij jullie"  # the completed text is an outage: network's
    assert reclassify_case(session, case, row, ruleset=ruleset, now=utc_now())


@pytest.mark.parametrize("hand_off", [by_agent, by_escalation, by_rules], ids=["agent", "escalation", "rules"])
def test_a_handoff_has_the_same_effects_whoever_makes_it(
        session: Session, ruleset: RuleSet, hand_off: Callable[[Session, Case, RuleSet], None]) -> None:
    case = billing_case(session, ruleset)
    case.external_ref = "BILL-7"
    hand_off(session, lock_existing_case(session, case.id), ruleset)
    session.flush()
    session.expire_all()
    case = session.get_one(Case, case.id)
    assert (case.department, case.status, case.external_ref, case.acknowledged_at) == \
        ("network", "pending_department", None, None)
    assert set(session.scalars(select(CaseOwner.department).where(CaseOwner.case_id == case.id))) == \
        {"billing", "network"}
    handoffs = [e.data for e in session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                                        CaseEvent.type == "handed_off")
                                                .order_by(CaseEvent.id))]
    assert [(d["from"], d["to"]) for d in handoffs] == [("webcare", "billing"), ("billing", "network")]
    # the new owner and the owner that lost the case both hear of it (billing closes its ticket)
    told = session.scalars(select(DepartmentEvent.department).where(DepartmentEvent.type == "case.handed_off")
                           .order_by(DepartmentEvent.id)).all()
    assert (told[0], sorted(told[1:])) == ("billing", ["billing", "network"])  # at opening, then both
    acks = session.scalars(select(SlaTimer).where(SlaTimer.case_id == case.id, SlaTimer.kind == "department_ack")
                           .order_by(SlaTimer.id)).all()
    assert [(t.department, t.active) for t in acks] == [("billing", False), ("network", True)]


def test_a_customer_writing_to_a_resolved_case_reopens_it_once(session: Session, ruleset: RuleSet) -> None:
    case = billing_case(session, ruleset)
    perform_action(session, lock_existing_case(session, case.id), ActionRequest("resolve", {}),
                   principal=Principal(kind="department", name="billing", department="billing"), ruleset=ruleset,
                   now=utc_now())
    again = Mention(external_id="m-2", channel="x", text="Nog steeds fout", author=Author(handle="@jan"))
    ingest_mentions(session, ruleset=ruleset, connector="listening-tool", items=[ParsedItem(again, {})],
                    received_at=utc_now())
    session.expire_all()
    case = session.get_one(Case, case.id)
    assert case.status == "open"
    timeline = [e.type for e in session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                                .order_by(CaseEvent.id))]
    assert timeline[-2:] == ["mention_added", "reopened"]
    notices = session.scalars(select(DepartmentEvent.type).where(DepartmentEvent.case_id == case.id)
                              .order_by(DepartmentEvent.id)).all()
    # what happened to the case first, then the news of what arrived
    assert notices[-2:] == ["case.reopened", "case.mention_added"]
    resolution = session.scalars(select(SlaTimer).where(SlaTimer.case_id == case.id,
                                                        SlaTimer.kind == "resolution", SlaTimer.active.is_(True))).all()
    assert len(resolution) == 1


def test_a_change_without_registered_handlers_is_refused(session: Session, ruleset: RuleSet,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    case = billing_case(session, ruleset)
    monkeypatch.setattr(changes, "_handlers", {stage: [] for stage in changes.STAGES})
    with pytest.raises(RuntimeError, match=r"app\.case_handlers"):
        changes.apply_changes(session, case, [DomainEvent("note_added", Actor("agent", "ann"))], ruleset=ruleset,
                              now=utc_now())
