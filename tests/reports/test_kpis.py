"""Every KPI figure on a hand-built week of cases, the expected values worked out below.

The cases are made through the real services (ingest, actions, feedback) at chosen instants, so
the timers hold what the service stores. Billing works office hours (Mon-Fri 09:00-17:00,
Europe/Amsterdam); webcare (triage) works around the clock. November 2026 is CET (UTC+1).

A  billing, x, @brand-nl    opened Fri 20 Nov 16:00. ann responds 16:30 (first_response 30m: met).
   billing acknowledges Mon 10:00: department_ack business Fri 16-17 + Mon 9-10 = 7200 s, wall 66 h
   = 237600 s (met). billing resolves Mon 12:00: resolution business 1 h + 3 h = 14400 s, wall
   68 h = 244800 s (met). Answer 10, CSAT 5 (ann had responded last).
B  billing, x, @brand-nl    opened Fri 10:00. bob responds 12:00: first_response 7200 s, late
   (breached, goal reached). billing reroutes back to webcare 13:00: its department_ack is stopped
   (handed_on); resolution moves to webcare's 24/7 calendar with 3 h used. bob resolves Mon 10:00:
   business 3 h + 69 h = 259200 s, wall 72 h = 259200 s; 2 days on 24/7 were 48 h: breached.
   Answer 6, CSAT 3 (owner webcare, agent bob).
C  webcare, facebook, @help opened Sat 21 Nov 11:00. ann responds 11:20 (1200 s, met); ann closes
   12:00 (resolution stopped, closed). Answer 8 (owner webcare, agent ann).
D  billing, x, @help        opened Mon 23 Nov 09:00; ann claims it. Open: backlog 3 h at now.
E  billing, x, @help        opened Sun 22 Nov 20:00. ann resolves 21:00 before billing acknowledged
   (department_ack stopped, resolved; resolution business 0 s (Sunday), wall 3600 s, met) and
   reopens Mon 09:30. Open: backlog 16 h at now.
now = Mon 23 Nov 12:00 (11:00Z).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.audit import SYSTEM
from app.auth.models import User
from app.auth.service import Principal, add_user
from app.cases.actions import ActionRequest, perform_action
from app.cases.locking import lock_case
from app.feedback.service import Answer, record_feedback
from app.ingest.service import ingest_mentions
from app.ingest.standard import parse_standard_body
from app.kernel.refs import parse_ref
from app.reports.kpis import kpi_report, median, nps, p90
from app.reports.queries import read_facts
from tests.conftest import BASIC_RULES
from tests.support import ApiClient, make_user_token

AMS = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=AMS)
START, END = datetime(2026, 11, 16, tzinfo=UTC), datetime(2026, 11, 23, 12, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=AMS)


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    """The basic folder with billing on office hours."""
    folder = tmp_path / "rules"
    shutil.copytree(BASIC_RULES, folder)
    departments = folder / "departments.yaml"
    departments.write_text(departments.read_text().replace(
        "  - id: billing\n    name: Facturatie\n    calendar: always", "  - id: billing\n    name: Facturatie\n"
        "    calendar: office"))
    sla = folder / "sla.yaml"
    sla.write_text(sla.read_text().replace(
        "calendars:\n", "calendars:\n  office: {timezone: Europe/Amsterdam, hours: {mon-fri: [\"09:00-17:00\"]}}\n"))
    return folder


@pytest.fixture
def cases(app, sessions: sessionmaker[Session]) -> Iterator[dict[str, str]]:  # type: ignore[no-untyped-def]
    ruleset = app.state.rules.current
    assert ruleset.departments["billing"].calendar == "office"
    refs: dict[str, str] = {}
    with sessions() as session, session.begin():
        users = {name: add_user(session, username=name, role="agent", password=None, now=at(1, 9), actor=SYSTEM)
                 for name in ("ann", "bob")}

        def open_(name: str, when: datetime, text: str, channel: str, account: str) -> None:
            body = json.dumps({"id": f"m-{name}", "channel": channel, "text": text, "account": account,
                               "author": {"handle": f"@{name.lower()}"}}).encode()
            result = ingest_mentions(session, ruleset=ruleset, connector="listening-tool",
                                     items=parse_standard_body(body), received_at=when)
            refs[name] = result.cases[0]

        def act(name: str, when: datetime, action: str, who: str, **params: Any) -> None:
            case = lock_case(session, parse_ref(refs[name]) or 0)
            assert case is not None
            if who == "billing":
                principal = Principal(kind="department", name="billing", department="billing")
            else:
                user: User = users[who]
                principal = Principal(kind="user", name=who, role="agent", user_id=user.id)
            perform_action(session, case, ActionRequest(action, params), principal=principal, ruleset=ruleset,
                           now=when)

        def answer(name: str, when: datetime, score: int, csat: int | None = None) -> None:
            case = lock_case(session, parse_ref(refs[name]) or 0)
            assert case is not None
            record_feedback(session, case, Answer(score, csat), principal=Principal(kind="integration", name="survey"),
                            ruleset=ruleset, now=when)

        invoice = "mijn factuur is te hoog"
        open_("A", at(20, 16), invoice, "x", "brand-nl")
        open_("B", at(20, 10), invoice, "x", "brand-nl")
        open_("C", at(21, 11), "hallo, een vraagje", "facebook", "help")
        open_("D", at(23, 9), invoice, "x", "help")
        open_("E", at(22, 20), invoice, "x", "help")
        act("A", at(20, 16, 30), "respond", "ann", text="We kijken ernaar")
        act("A", at(23, 10), "acknowledge", "billing")
        act("A", at(23, 12), "resolve", "billing")
        act("B", at(20, 12), "respond", "bob", text="Sorry voor het wachten")
        act("B", at(20, 13), "reroute", "billing", reason="niet van ons")
        act("B", at(23, 10), "resolve", "bob")
        act("C", at(21, 11, 20), "respond", "ann", text="Hoi!")
        act("C", at(21, 12), "close", "ann", reason="beantwoord")
        act("D", at(23, 9, 5), "claim", "ann")
        act("E", at(22, 21), "resolve", "ann")
        act("E", at(23, 9, 30), "reopen", "ann")
        answer("A", at(23, 12, 30), 10, 5)
        answer("B", at(23, 11), 6, 3)
        answer("C", at(21, 13), 8)
    assert {name: ref.startswith("WC-") for name, ref in refs.items()} == dict.fromkeys("ABCDE", True)
    yield refs


def report(sessions: sessionmaker[Session], group: str, split: str | None = None, **filters: str) -> dict[Any, Any]:
    with sessions() as session:
        facts = read_facts(session, start=START, end=END)
    result = kpi_report(facts, group=group, split=split, tz=AMS, now=NOW, **filters)
    rows = {(row[group], row[split]) if split else row[group]: row for row in result.rows}
    return {**rows, "total": result.total}


def test_the_percentiles_and_scores_by_their_definitions() -> None:
    assert (median([1800, 7200, 1200]), p90([1800, 7200, 1200])) == (1800, 7200)
    assert (median([0, 14400]), p90([0, 14400])) == (7200, 14400)
    assert p90(list(range(1, 11))) == 9 and p90(list(range(1, 12))) == 10  # nearest rank: ceil(0.9 n)
    assert median([]) is None and nps([]) is None
    assert nps([10, 9, 8, 7, 6, 0]) == 0.0 and nps([10, 6, 8]) == 0.0 and nps([9, 9, 1]) == 33.3


def test_departments(cases: dict[str, str], sessions: sessionmaker[Session]) -> None:
    rows = report(sessions, "department")
    billing, webcare = rows["billing"], rows["webcare"]
    assert (billing["cases"], webcare["cases"], billing["mentions"], webcare["mentions"]) == (3, 2, 3, 2)
    # first_response runs for triage: A 1800, B 7200 (late), C 1200
    assert (webcare["first_response_business_median_s"], webcare["first_response_business_p90_s"]) == (1800, 7200)
    assert (webcare["first_response_wall_median_s"], webcare["first_response_wall_p90_s"]) == (1800, 7200)
    assert (webcare["sla_first_response_met"], webcare["sla_first_response_breached"],
            webcare["sla_first_response_stopped"], webcare["sla_first_response_compliance"]) == (2, 1, 0, 0.6667)
    # department_ack across the weekend: business 7200 s, wall 237600 s; B handed on and E resolved
    # by webcare are stopped, not met, and stay out of compliance
    assert (billing["department_ack_business_median_s"], billing["department_ack_wall_median_s"],
            billing["department_ack_business_p90_s"], billing["department_ack_wall_p90_s"]) == (7200, 237600,
                                                                                                 7200, 237600)
    assert (billing["sla_department_ack_met"], billing["sla_department_ack_breached"],
            billing["sla_department_ack_stopped"], billing["sla_department_ack_compliance"]) == (1, 0, 2, 1.0)
    # resolution on billing's calendar: A 14400 / 244800, E 0 / 3600
    assert (billing["resolution_business_median_s"], billing["resolution_business_p90_s"],
            billing["resolution_wall_median_s"], billing["resolution_wall_p90_s"]) == (7200, 14400, 124200, 244800)
    assert (billing["sla_resolution_met"], billing["sla_resolution_breached"]) == (2, 0)
    # B's resolution moved to webcare (24/7) and came after 72 h of a 48 h budget; C's was closed
    assert (webcare["resolution_business_median_s"], webcare["resolution_wall_median_s"]) == (259200, 259200)
    assert (webcare["sla_resolution_met"], webcare["sla_resolution_breached"], webcare["sla_resolution_stopped"],
            webcare["sla_resolution_compliance"]) == (0, 1, 1, 0.0)
    # backlog now: D 3 h, E 16 h
    assert (billing["backlog"], billing["backlog_age_median_s"], billing["backlog_age_p90_s"],
            billing["backlog_age_max_s"]) == (2, 34200, 57600, 57600)
    assert webcare["backlog"] == 0 and webcare["backlog_age_median_s"] is None
    assert (billing["resolved"], billing["reopened"], billing["reopen_rate"]) == (2, 1, 0.5)
    assert (webcare["resolved"], webcare["reopened"], webcare["reopen_rate"]) == (1, 0, 0.0)
    assert (billing["reroutes"], webcare["reroutes"]) == (1, 0)
    assert (billing["feedback"], billing["nps"], billing["csat"]) == (1, 100.0, 100.0)
    assert (webcare["promoters"], webcare["passives"], webcare["detractors"], webcare["nps"],
            webcare["csat_answers"], webcare["csat"]) == (0, 1, 1, -50.0, 1, 0.0)
    total = rows["total"]
    assert (total["cases"], total["feedback"], total["nps"], total["csat"]) == (5, 3, 0.0, 50.0)
    assert (total["sla_department_ack_stopped"], total["sla_resolution_stopped"]) == (2, 1)


def test_channels(cases: dict[str, str], sessions: sessionmaker[Session]) -> None:
    rows = report(sessions, "channel")
    x, facebook = rows["x"], rows["facebook"]
    assert (x["cases"], facebook["cases"]) == (4, 1)
    assert (x["first_response_business_median_s"], x["first_response_business_p90_s"]) == (4500, 7200)
    assert (x["sla_first_response_compliance"], facebook["sla_first_response_compliance"]) == (0.5, 1.0)
    assert (x["nps"], x["csat"], facebook["nps"], facebook["csat"]) == (0.0, 50.0, 0.0, None)
    assert (x["backlog"], x["reroutes"], facebook["sla_resolution_stopped"]) == (2, 1, 1)


def test_agents(cases: dict[str, str], sessions: sessionmaker[Session]) -> None:
    rows = report(sessions, "agent")
    ann, bob = rows["ann"], rows["bob"]
    assert set(rows) == {"ann", "bob", "total"}
    assert (ann["cases"], bob["cases"]) == (2, 1)  # by the last response: A and C; B
    assert (ann["first_response_business_median_s"], ann["first_response_business_p90_s"]) == (1500, 1800)
    assert (bob["first_response_wall_median_s"], bob["sla_first_response_breached"]) == (7200, 1)
    # ann resolved E (met, 0 s business); bob resolved B (breached, 259200 s)
    assert (ann["resolution_business_median_s"], ann["sla_resolution_met"]) == (0, 1)
    assert (bob["resolution_business_median_s"], bob["sla_resolution_breached"]) == (259200, 1)
    assert (ann["backlog"], ann["backlog_age_max_s"], bob["backlog"]) == (1, 10800, 0)  # D is claimed by ann
    assert (ann["nps"], ann["csat"], bob["nps"], bob["csat"]) == (50.0, 100.0, -100.0, 0.0)


def test_splits_by_weekday_and_account_and_the_filters(cases: dict[str, str],
                                                        sessions: sessionmaker[Session]) -> None:
    by_day = report(sessions, "channel", "weekday")
    assert {key: row["cases"] for key, row in by_day.items() if key != "total"} == {
        ("x", "fri"): 2, ("x", "sun"): 1, ("x", "mon"): 1, ("facebook", "sat"): 1}
    assert by_day[("x", "fri")]["first_response_business_median_s"] == 4500
    by_account = report(sessions, "department", "account")
    assert {key: row["cases"] for key, row in by_account.items() if key != "total"} == {
        ("billing", "brand-nl"): 1, ("billing", "help"): 2, ("webcare", "brand-nl"): 1, ("webcare", "help"): 1}
    by_hour = report(sessions, "department", "weekday_hour")
    assert by_hour[("billing", "fri 16")]["cases"] == 1
    only_billing = report(sessions, "department", department="billing")
    assert set(only_billing) == {"billing", "total"} and only_billing["total"]["cases"] == 3
    facebook = report(sessions, "agent", channel="facebook")
    assert set(facebook) == {"ann", "total"} and facebook["ann"]["cases"] == 1


def test_the_http_reports_agree_and_answer_csv(cases: dict[str, str], client: TestClient,
                                               sessions: sessionmaker[Session]) -> None:
    lead = ApiClient(client, make_user_token(sessions, "lena", "lead"))
    window = {"from": START.isoformat(), "to": END.isoformat()}
    answer = lead.get("/api/v1/reports/departments", params=window)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    expected = report(sessions, "department")
    ages = ("backlog_age_median_s", "backlog_age_p90_s", "backlog_age_max_s")  # measured at the real now
    for row in body["rows"]:
        assert {k: v for k, v in row.items() if k not in ages} == \
            {k: v for k, v in expected[row["department"]].items() if k not in ages}
    assert body["timezone"] == "Europe/Amsterdam" and body["total"]["cases"] == 5
    as_csv = lead.get("/api/v1/reports/channels", params={**window, "format": "csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    lines = as_csv.text.splitlines()
    header = lines[0].split(",")
    assert header[:3] == ["channel", "cases", "mentions"] and "sla_department_ack_stopped" in header
    by_channel = {line.split(",")[0]: dict(zip(header, line.split(","), strict=True)) for line in lines[1:]}
    assert by_channel["x"]["first_response_business_median_s"] == "4500" and by_channel["(total)"]["cases"] == "5"
    accepted = lead.get("/api/v1/reports/agents", params=window, headers={"accept": "text/csv"})
    assert accepted.text.startswith("agent,cases,")


@pytest.mark.parametrize(("params", "field"), [
    ({"from": "2026-11-23T00:00:00Z", "to": "2026-11-16T00:00:00Z"}, "from"),
    ({"from": "2024-01-01T00:00:00Z", "to": "2026-11-16T00:00:00Z"}, "from"),
    ({"from": "yesterday"}, "from"),
    ({"department": "nope"}, "department"),
    ({"channel": "X Y"}, "channel"),
    ({"by": "month"}, "by"),
    ({"format": "xml"}, "format"),
])
def test_bad_parameters_are_problems_naming_them(client: TestClient, sessions: sessionmaker[Session],
                                                 params: dict[str, str], field: str) -> None:
    lead = ApiClient(client, make_user_token(sessions, "lena", "lead"))
    answer = lead.get("/api/v1/reports/departments", params=params)
    assert answer.status_code in (400, 422) and answer.headers["content-type"].startswith("application/problem+json")
    assert field in json.dumps(answer.json()["errors"])


def test_agents_and_departments_may_not_read_reports(client: TestClient, sessions: sessionmaker[Session]) -> None:
    from tests.support import make_department_token

    for token in (make_user_token(sessions, "ann2", "agent"), make_department_token(sessions, "billing")):
        for path in ("departments", "channels", "agents", "workload"):
            answer = ApiClient(client, token).get(f"/api/v1/reports/{path}")
            assert answer.status_code == 403 and answer.headers["content-type"].startswith("application/problem+json")
    ops = ApiClient(client, make_user_token(sessions, "olga", "ops"))
    assert ops.get("/api/v1/reports/agents").status_code == 200


def test_an_empty_window_has_no_rows_and_empty_figures(client: TestClient, sessions: sessionmaker[Session]) -> None:
    lead = ApiClient(client, make_user_token(sessions, "lena", "lead"))
    body = lead.get("/api/v1/reports/departments",
                    params={"from": "2020-01-01T00:00:00Z", "to": "2020-01-02T00:00:00Z"}).json()
    assert body["rows"] == [] and body["total"]["cases"] == 0 and body["total"]["nps"] is None
    assert body["to"] == "2020-01-02T00:00:00Z" and datetime.fromisoformat(body["from"]) + timedelta(days=1) == \
        datetime.fromisoformat(body["to"])
