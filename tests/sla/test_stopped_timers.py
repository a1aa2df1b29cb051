"""A timer is `met` only when its goal happened in time; one that ended without it is `stopped`
with the reason (handed on, closed, merged, resolved by webcare), and a missed deadline stays
`breached` however the timer ends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.sla.test_case_timers import created_at, open_case, sweep
from tests.support import ApiClient, Signer, make_department_token


def segments(api: ApiClient, ref: str, kind: str) -> list[tuple[str, str, str | None]]:
    history = api.get(f"/api/v1/cases/{ref}").json()["sla_history"]
    return [(s["department"], s["state"], s["stop_reason"]) for s in history if s["kind"] == kind]


def test_handed_back_without_acknowledging_is_stopped_not_met(client: TestClient, signer: Signer, api: ApiClient,
                                                              sessions: sessionmaker[Session]) -> None:
    ref = open_case(client, signer)  # billing: department_ack runs for billing
    billing = ApiClient(client, make_department_token(sessions, "billing"))
    assert billing.post(f"/api/v1/cases/{ref}/reroute", json={"reason": "not ours"}).status_code == 200
    assert segments(api, ref, "department_ack") == [("billing", "stopped", "handed_on")]
    sla = api.get(f"/api/v1/cases/{ref}").json()["sla"]
    assert (sla["department_ack"]["state"], sla["department_ack"]["stop_reason"]) == ("stopped", "handed_on")


def test_handoff_by_an_agent_stops_the_old_owners_segment_and_starts_a_new_one(
        client: TestClient, signer: Signer, api: ApiClient) -> None:
    ref = open_case(client, signer)
    handoff = api.post(f"/api/v1/cases/{ref}/handoff", json={"department": "network", "reason": "outage"})
    assert handoff.status_code == 200
    assert segments(api, ref, "department_ack") == [("billing", "stopped", "handed_on"), ("network", "running", None)]


def test_acknowledged_and_responded_in_time_are_met(client: TestClient, signer: Signer, api: ApiClient,
                                                    sessions: sessionmaker[Session]) -> None:
    ref = open_case(client, signer)
    billing = ApiClient(client, make_department_token(sessions, "billing"))
    api.post(f"/api/v1/cases/{ref}/respond", json={"text": "We kijken ernaar", "send": False})
    billing.post(f"/api/v1/cases/{ref}/acknowledge", json={})
    assert api.post(f"/api/v1/cases/{ref}/close", json={"reason": "done"}).status_code == 200
    assert segments(api, ref, "first_response") == [("webcare", "met", None)]
    assert segments(api, ref, "department_ack") == [("billing", "met", None)]
    assert segments(api, ref, "resolution") == [("billing", "stopped", "closed")]


def test_close_stops_every_running_timer_with_reason_closed(client: TestClient, signer: Signer,
                                                            api: ApiClient) -> None:
    ref = open_case(client, signer)
    assert api.post(f"/api/v1/cases/{ref}/close", json={"reason": "done"}).status_code == 200
    history = api.get(f"/api/v1/cases/{ref}").json()["sla_history"]
    assert {(s["kind"], s["state"], s["stop_reason"]) for s in history} == {
        ("first_response", "stopped", "closed"), ("department_ack", "stopped", "closed"),
        ("resolution", "stopped", "closed")}


def test_merge_stops_the_merged_cases_timers_with_reason_merged(client: TestClient, signer: Signer,
                                                                api: ApiClient) -> None:
    first, second = open_case(client, signer), open_case(client, signer)
    assert api.post(f"/api/v1/cases/{second}/merge", json={"into": first}).status_code == 200
    assert {s for _, s, _ in segments(api, second, "first_response")} == {"stopped"}
    assert segments(api, second, "resolution") == [("billing", "stopped", "merged")]
    assert segments(api, first, "resolution") == [("billing", "running", None)]


def test_resolve_by_the_department_meets_its_ack_resolve_by_webcare_does_not(
        client: TestClient, signer: Signer, api: ApiClient, sessions: sessionmaker[Session]) -> None:
    by_department, by_webcare = open_case(client, signer), open_case(client, signer)
    billing = ApiClient(client, make_department_token(sessions, "billing"))
    assert billing.post(f"/api/v1/cases/{by_department}/resolve", json={}).status_code == 200
    assert api.post(f"/api/v1/cases/{by_webcare}/resolve", json={}).status_code == 200
    assert segments(api, by_department, "department_ack") == [("billing", "met", None)]
    assert segments(api, by_webcare, "department_ack") == [("billing", "stopped", "resolved")]
    assert segments(api, by_webcare, "resolution") == [("billing", "met", None)]


def test_a_breached_timer_stays_breached_when_it_is_stopped(app, client: TestClient, signer: Signer,  # type: ignore[no-untyped-def]
                                                            api: ApiClient, sessions: sessionmaker[Session]) -> None:
    ref = open_case(client, signer)
    sweep(app, sessions, created_at(api, ref) + timedelta(hours=4, minutes=1))  # department_ack's 4h passed
    handoff = api.post(f"/api/v1/cases/{ref}/handoff", json={"department": "network", "reason": "outage"})
    assert handoff.status_code == 200
    assert segments(api, ref, "department_ack")[0] == ("billing", "breached", "handed_on")


def test_a_goal_reached_after_the_deadline_is_breached_even_before_the_sweeper_ran(
        client: TestClient, signer: Signer, api: ApiClient, monkeypatch: pytest.MonkeyPatch) -> None:
    ref = open_case(client, signer)
    start = created_at(api, ref)
    monkeypatch.setattr("app.web.case_requests.utc_now", lambda: start + timedelta(hours=1, seconds=1))
    api.post(f"/api/v1/cases/{ref}/respond", json={"text": "Sorry voor het wachten", "send": False})
    first = [s for s in api.get(f"/api/v1/cases/{ref}").json()["sla_history"] if s["kind"] == "first_response"]
    assert [(s["state"], s["breached_at"]) for s in first] == [("breached", first[0]["due_at"])]
