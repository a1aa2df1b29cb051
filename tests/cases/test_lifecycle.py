"""Every (status, action) pair of DESIGN "Case life cycle": allowed with its result, or refused."""

from __future__ import annotations

import pytest

from app.cases.events import Actor
from app.cases.lifecycle import (
    ACTIONS,
    CaseState,
    TransitionNotAllowed,
    allowed_actions,
    customer_wrote,
    opening,
    rules_route,
    transition,
)
from app.kernel.vocabulary import Status

TRIAGE = "webcare"
# The DESIGN table, transcribed: action -> {from status: to status}. "=" keeps the status.
# handoff/reroute here move the case to "billing" (a non-triage department).
EXPECTED: dict[str, dict[str, str]] = {
    "claim": {"open": "=", "pending_department": "=", "pending_customer": "=", "resolved": "="},
    "assign": {"open": "=", "pending_department": "=", "pending_customer": "=", "resolved": "="},
    "priority": {"open": "=", "pending_department": "=", "pending_customer": "=", "resolved": "="},
    "tag": {"open": "=", "pending_department": "=", "pending_customer": "=", "resolved": "="},
    "respond": {"open": "=", "pending_department": "=", "pending_customer": "=", "resolved": "="},
    "notes": {s.value: "=" for s in Status},
    "handoff": {"open": "pending_department", "pending_department": "pending_department"},
    "reroute": {"open": "pending_department", "pending_department": "pending_department",
                "pending_customer": "pending_department"},
    "acknowledge": {"open": "=", "pending_department": "=", "pending_customer": "="},
    "request-info": {"pending_department": "open"},
    "pending-customer": {"open": "pending_customer", "pending_department": "pending_customer"},
    "resume": {"pending_customer": "pending_department"},  # the state below returns to D
    "resolve": {"open": "resolved", "pending_department": "resolved", "pending_customer": "resolved"},
    "close": {"open": "closed", "pending_department": "closed", "pending_customer": "closed", "resolved": "closed"},
    "merge": {"open": "closed", "pending_department": "closed", "pending_customer": "closed", "resolved": "closed"},
    "reopen": {"resolved": "open", "closed": "open"},
}
ACTOR = {a: "department" for a in ("acknowledge", "request-info", "reroute")} | {
    a: "agent" for a in EXPECTED if a not in ("acknowledge", "request-info", "reroute")}


def state(status: Status) -> CaseState:
    return CaseState(status=status, department="network", triage=TRIAGE,
                     return_status=Status.PENDING_DEPARTMENT if status is Status.PENDING_CUSTOMER else None)


@pytest.mark.parametrize("status", list(Status), ids=lambda s: s.value)
@pytest.mark.parametrize("action", ACTIONS)
def test_every_status_action_pair(status: Status, action: str) -> None:
    expected = EXPECTED[action].get(status.value)
    actor = ACTOR[action]
    if expected is None:
        with pytest.raises(TransitionNotAllowed) as refused:
            transition(state(status), action, actor, target="billing")
        assert action not in refused.value.allowed
        assert refused.value.allowed == allowed_actions(state(status), actor)
        return
    outcome = transition(state(status), action, actor, target="billing")
    assert outcome.state.status == (status if expected == "=" else Status(expected))
    assert action in allowed_actions(state(status), actor)


def test_the_table_covers_every_action() -> None:
    assert set(EXPECTED) == set(ACTIONS)


@pytest.mark.parametrize("action", ["claim", "assign", "handoff", "pending-customer", "close", "merge", "reopen",
                                    "priority", "tag", "respond", "resume"])
def test_departments_cannot_take_agent_actions(action: str) -> None:
    for status in Status:
        with pytest.raises(TransitionNotAllowed):
            transition(state(status), action, "department", target="billing")


@pytest.mark.parametrize("action", ["acknowledge", "request-info", "reroute"])
def test_agents_cannot_take_department_actions(action: str) -> None:
    for status in Status:
        with pytest.raises(TransitionNotAllowed):
            transition(state(status), action, "agent", target="billing")


def test_handoff_to_triage_opens_and_ownership_moves() -> None:
    outcome = transition(state(Status.PENDING_DEPARTMENT), "handoff", "agent", target=TRIAGE)
    assert (outcome.state.status, outcome.state.department) == (Status.OPEN, TRIAGE)
    assert outcome.previous_owner == "network" and outcome.owner_changed
    outcome = transition(state(Status.OPEN), "handoff", "agent", target="billing")
    assert (outcome.state.status, outcome.state.department) == (Status.PENDING_DEPARTMENT, "billing")


def test_reroute_without_a_department_returns_the_case_to_triage() -> None:
    outcome = transition(state(Status.PENDING_CUSTOMER), "reroute", "department")
    assert (outcome.state.status, outcome.state.department, outcome.previous_owner) == (Status.OPEN, TRIAGE, "network")


def test_a_second_acknowledge_is_refused_until_a_new_owner() -> None:
    acknowledged = transition(state(Status.PENDING_DEPARTMENT), "acknowledge", "department").state
    assert acknowledged.acknowledged
    with pytest.raises(TransitionNotAllowed, match="already acknowledged"):
        transition(acknowledged, "acknowledge", "department")
    moved = transition(acknowledged, "handoff", "agent", target="billing").state
    assert not moved.acknowledged
    assert transition(moved, "acknowledge", "department").state.acknowledged


def test_pending_customer_remembers_where_to_return() -> None:
    with_department = transition(state(Status.PENDING_DEPARTMENT), "pending-customer", "agent").state
    assert with_department.return_status == Status.PENDING_DEPARTMENT
    assert transition(with_department, "resume", "agent").state.status == Status.PENDING_DEPARTMENT
    triage_case = CaseState(status=Status.OPEN, department=TRIAGE, triage=TRIAGE)
    waiting = transition(triage_case, "pending-customer", "agent").state
    assert waiting.return_status == Status.OPEN
    assert transition(waiting, "resume", "customer").state.status == Status.OPEN


def test_request_info_keeps_the_owner() -> None:
    outcome = transition(state(Status.PENDING_DEPARTMENT), "request-info", "department")
    assert (outcome.state.status, outcome.state.department) == (Status.OPEN, "network")
    assert not outcome.owner_changed


def test_a_department_that_does_not_own_the_case_may_do_nothing() -> None:
    assert allowed_actions(state(Status.PENDING_DEPARTMENT), "department", owns=False) == []


def test_refusals_name_the_allowed_actions() -> None:
    with pytest.raises(TransitionNotAllowed) as refused:
        transition(state(Status.CLOSED), "resolve", "agent")
    assert refused.value.allowed == ["notes", "reopen"]


RULE = Actor("rule", "billing")


def test_each_action_says_what_happened() -> None:
    state = CaseState(Status.PENDING_DEPARTMENT, "billing", TRIAGE, acknowledged=True)
    [handoff] = transition(state, "handoff", "agent", target="network", by=Actor("user", "ann")).events
    assert (handoff.type, dict(handoff.data), handoff.notice, handoff.also, handoff.actor) == \
        ("handed_off", {"from": "billing", "to": "network"}, "case.handed_off", ("billing",), Actor("user", "ann"))
    [resolved] = transition(state, "resolve", "department").events
    assert (resolved.type, resolved.notice, resolved.also, resolved.actor) == \
        ("resolved", "case.resolved", (), Actor("department"))
    [claimed] = transition(state, "claim", "agent").events
    assert (claimed.type, claimed.notice) == ("claimed", None)


def test_a_new_case_is_handed_off_at_once_unless_it_is_for_triage() -> None:
    billing = opening("billing", TRIAGE, by=RULE)
    assert (billing.state.status, billing.state.department) == (Status.PENDING_DEPARTMENT, "billing")
    [handoff] = billing.events
    assert (dict(handoff.data), handoff.also) == ({"from": TRIAGE, "to": "billing"}, ())  # triage never owned it
    triage = opening(TRIAGE, TRIAGE, by=RULE)
    assert (triage.state.status, triage.events) == (Status.OPEN, ())


def test_a_customer_writing_again_reopens_or_resumes() -> None:
    resolved = customer_wrote(CaseState(Status.RESOLVED, "billing", TRIAGE))
    assert (resolved.state.status, [e.type for e in resolved.events]) == (Status.OPEN, ["reopened"])
    waiting = customer_wrote(CaseState(Status.PENDING_CUSTOMER, "billing", TRIAGE,
                                       return_status=Status.PENDING_DEPARTMENT))
    assert (waiting.state.status, waiting.state.return_status) == (Status.PENDING_DEPARTMENT, None)
    assert [(e.type, dict(e.data)) for e in waiting.events] == [("resumed", {"to": "pending_department"})]
    open_case = CaseState(Status.OPEN, TRIAGE, TRIAGE)
    assert customer_wrote(open_case) == type(resolved)(open_case)


def test_the_rules_routing_a_case_anew_hand_it_off_keeping_a_status_they_may_not_change() -> None:
    moved = rules_route(CaseState(Status.PENDING_DEPARTMENT, "billing", TRIAGE, acknowledged=True), TRIAGE, by=RULE)
    assert (moved.state.status, moved.state.department, moved.state.acknowledged, moved.previous_owner) == \
        (Status.OPEN, TRIAGE, False, "billing")
    assert [(e.type, e.also) for e in moved.events] == [("handed_off", ("billing",))]
    resolved = rules_route(CaseState(Status.RESOLVED, "billing", TRIAGE), "network", by=RULE)
    assert (resolved.state.status, resolved.state.department) == (Status.RESOLVED, "network")
    same = CaseState(Status.OPEN, TRIAGE, TRIAGE)
    assert rules_route(same, TRIAGE, by=RULE).events == ()
