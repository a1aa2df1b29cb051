"""SLA timers on real cases: started by ingest and actions, fired by the sweeper with `now` passed in."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.cases.models import CaseEvent
from app.delivery.models import DepartmentEvent
from app.kernel.refs import parse_ref
from app.sla.models import SlaTimer
from app.sla.sweeper import sweep_batch
from tests.support import ApiClient, Signer, make_department_token, mention, post_mentions


def open_case(client: TestClient, signer: Signer, text: str = "mijn factuur is te hoog") -> str:
    return str(post_mentions(client, signer, mention(text)).json()["cases"][0])


def sweep(app, sessions: sessionmaker[Session], now: datetime) -> int:  # type: ignore[no-untyped-def]
    with sessions() as session, session.begin():
        return sweep_batch(session, ruleset=app.state.rules.current, now=now)


def created_at(api: ApiClient, ref: str) -> datetime:
    return datetime.fromisoformat(api.get(f"/api/v1/cases/{ref}").json()["created_at"])


def timeline(api: ApiClient, ref: str) -> list[str]:
    return [e["type"] for e in api.get(f"/api/v1/cases/{ref}").json()["timeline"]]


def test_opening_starts_the_timers_on_the_policy(client: TestClient, signer: Signer, api: ApiClient) -> None:
    ref = open_case(client, signer)  # billing, P3, policy standard, calendar always
    case = api.get(f"/api/v1/cases/{ref}").json()
    start = datetime.fromisoformat(case["created_at"])
    sla = case["sla"]
    assert set(sla) == {"first_response", "resolution", "department_ack"}
    assert datetime.fromisoformat(sla["first_response"]["due_at"]) == start + timedelta(hours=1)
    assert datetime.fromisoformat(sla["department_ack"]["due_at"]) == start + timedelta(hours=4)
    assert datetime.fromisoformat(sla["resolution"]["due_at"]) == start + timedelta(days=2)
    assert sla["department_ack"]["department"] == "billing"
    assert 3500 < sla["first_response"]["seconds_left"] <= 3600
    assert {s["state"] for s in sla.values()} == {"running"}


def test_respond_and_acknowledge_stop_their_timers(client: TestClient, signer: Signer, api: ApiClient,
                                                   sessions: sessionmaker[Session]) -> None:
    ref = open_case(client, signer)
    billing = ApiClient(client, make_department_token(sessions, "billing"))
    api.post(f"/api/v1/cases/{ref}/respond", json={"text": "We kijken ernaar", "send": False})
    billing.post(f"/api/v1/cases/{ref}/acknowledge", json={})
    sla = api.get(f"/api/v1/cases/{ref}").json()["sla"]
    assert sla["first_response"]["state"] == "met" and sla["first_response"]["seconds_left"] is None
    assert sla["department_ack"]["state"] == "met"
    assert sla["resolution"]["state"] == "running"


def test_warning_breach_and_escalation_fire_once_in_order(app, client: TestClient, signer: Signer,  # type: ignore[no-untyped-def]
                                                          api: ApiClient, sessions: sessionmaker[Session],
                                                          session: Session) -> None:
    ref = open_case(client, signer)
    start = created_at(api, ref)
    assert sweep(app, sessions, start + timedelta(minutes=44)) == 0
    sweep(app, sessions, start + timedelta(minutes=46))
    sweep(app, sessions, start + timedelta(minutes=47))  # nothing new
    case = api.get(f"/api/v1/cases/{ref}").json()
    assert timeline(api, ref).count("sla_warning") == 1
    assert case["sla"]["first_response"]["state"] == "warned"

    sweep(app, sessions, start + timedelta(minutes=61))
    case = api.get(f"/api/v1/cases/{ref}").json()
    types = [e["type"] for e in case["timeline"]]
    assert types.count("sla_breached") == 1 and types.count("sla_escalated") == 1
    assert types.index("sla_warning") < types.index("sla_breached") < types.index("sla_escalated")
    assert case["priority"] == "P2"  # raise_priority: 1
    assert case["sla"]["first_response"]["state"] == "breached"
    # the raise recomputed the other timers: department_ack is now P2's 2h
    assert datetime.fromisoformat(case["sla"]["department_ack"]["due_at"]) == start + timedelta(hours=2)
    feed = [e.type for e in session.scalars(select(DepartmentEvent).where(DepartmentEvent.department == "billing")
                                            .order_by(DepartmentEvent.id))]
    assert feed == ["case.handed_off", "sla.warning", "sla.breached", "sla.escalated"]


def test_ack_overdue_hands_the_case_back_to_webcare(app, client: TestClient, signer: Signer,  # type: ignore[no-untyped-def]
                                                   api: ApiClient, sessions: sessionmaker[Session]) -> None:
    ref = open_case(client, signer)
    start = created_at(api, ref)
    api.post(f"/api/v1/cases/{ref}/respond", json={"text": "We kijken ernaar", "send": False})
    sweep(app, sessions, start + timedelta(hours=6, minutes=1))  # 150% of the 4h department_ack
    case = api.get(f"/api/v1/cases/{ref}").json()
    assert (case["department"], case["status"]) == ("webcare", "open")
    assert "ack-overdue" in case["tags"]
    handoff = [e for e in case["timeline"] if e["type"] == "handed_off"][-1]
    assert (handoff["actor_type"], handoff["data"]["to"]) == ("escalation", "webcare")
    ack = [s for s in case["sla_history"] if s["kind"] == "department_ack"]
    assert [s["state"] for s in ack] == ["breached"]  # the segment ended with the handoff; no new one


def test_catch_up_after_downtime_fires_everything_once_in_order(app, client: TestClient, signer: Signer,  # type: ignore[no-untyped-def]
                                                                api: ApiClient, sessions: sessionmaker[Session],
                                                                session: Session) -> None:
    ref = open_case(client, signer, "hoe laat zijn jullie open?")  # webcare, P3
    start = created_at(api, ref)
    sweep(app, sessions, start + timedelta(days=3))
    sweep(app, sessions, start + timedelta(days=3, seconds=1))
    events = session.scalars(select(CaseEvent).where(CaseEvent.case_id == parse_ref(ref))
                             .order_by(CaseEvent.id)).all()
    fired = [(e.type, e.data.get("kind")) for e in events if e.type.startswith("sla_")]
    # first_response (1h at P3, then P2 after the raise), resolution (2d, recomputed at P2: 1d)
    assert fired == [("sla_warning", "first_response"), ("sla_breached", "first_response"),
                     ("sla_escalated", "first_response"), ("sla_warning", "resolution"),
                     ("sla_breached", "resolution")]


def test_pending_customer_pauses_resolution_and_keeps_used_time(app, client: TestClient, signer: Signer,  # type: ignore[no-untyped-def]
                                                                api: ApiClient, session: Session) -> None:
    ref = open_case(client, signer, "hoe laat zijn jullie open?")
    api.post(f"/api/v1/cases/{ref}/pending-customer", json={})
    paused = api.get(f"/api/v1/cases/{ref}").json()["sla"]["resolution"]
    assert paused["state"] == "paused" and paused["due_at"] is None
    timer = session.scalars(select(SlaTimer).where(SlaTimer.case_id == parse_ref(ref),
                                                   SlaTimer.kind == "resolution")).one()
    used = timer.elapsed_seconds
    assert 0 <= used < 60
    resumed_case = api.post(f"/api/v1/cases/{ref}/resume", json={}).json()
    resumed = resumed_case["sla"]["resolution"]
    session.refresh(timer)
    assert resumed["state"] == "running"
    # the deadline is the resume instant plus what was left of the 2 days
    assert datetime.fromisoformat(resumed["due_at"]) == timer.run_from + timedelta(days=2) - timedelta(seconds=used)


def test_priority_change_keeps_elapsed_time(app, client: TestClient, signer: Signer, api: ApiClient,  # type: ignore[no-untyped-def]
                                            session: Session) -> None:
    ref = open_case(client, signer, "hoe laat zijn jullie open?")
    timer = session.scalars(select(SlaTimer).where(SlaTimer.case_id == parse_ref(ref),
                                                   SlaTimer.kind == "first_response")).one()
    timer.elapsed_seconds = 1800.0  # as if half an hour had been used already
    session.commit()
    case = api.post(f"/api/v1/cases/{ref}/priority", json={"priority": "P4"}).json()
    session.refresh(timer)
    assert timer.budget_seconds == 4 * 3600
    due = datetime.fromisoformat(case["sla"]["first_response"]["due_at"])
    assert abs((due - timer.run_from).total_seconds() - (4 * 3600 - 1800 - 0)) < 5


def test_filters_and_sort_by_due(app, client: TestClient, signer: Signer, api: ApiClient,  # type: ignore[no-untyped-def]
                                 sessions: sessionmaker[Session]) -> None:
    slow = open_case(client, signer, "hoe laat zijn jullie open?")  # P3: first response in 1h
    fast = post_mentions(client, signer, mention("storing!", author={"id": "other"})).json()["cases"][0]  # P2 urgent
    refs = [c["ref"] for c in api.get("/api/v1/cases", params={"sort": "due"}).json()["items"]]
    assert refs == [fast, slow]
    assert [c["ref"] for c in api.get("/api/v1/cases", params={"due_within": "20m"}).json()["items"]] == [fast]
    start = created_at(api, slow)
    sweep(app, sessions, start + timedelta(minutes=46))
    warned = [c["ref"] for c in api.get("/api/v1/cases", params={"sla": "warned"}).json()["items"]]
    breached = [c["ref"] for c in api.get("/api/v1/cases", params={"sla": "breached"}).json()["items"]]
    assert warned == [slow] and breached == [fast]
    assert api.get("/api/v1/cases", params={"due_within": "soon"}).status_code == 422


@pytest.mark.parametrize("limit", [1, 2])
def test_keyset_by_due_walks_every_case_once(client: TestClient, signer: Signer, api: ApiClient, limit: int) -> None:
    refs = [post_mentions(client, signer, mention(t, author={"id": t})).json()["cases"][0]
            for t in ("storing a", "vraag b", "storing c", "vraag d")]
    seen, cursor = [], None
    while True:
        body = api.get("/api/v1/cases", params={"sort": "due", "limit": limit, **({"cursor": cursor} if cursor else {})}
                       ).json()
        seen += [c["ref"] for c in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(refs) and len(seen) == len(set(seen))
