"""The workload report: mentions per hour of the week, open and claimed cases now, the queue's age."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.reports.workload import OpenCase, workload
from tests.sla.test_case_timers import open_case
from tests.support import ApiClient, Signer, make_user_token

AMS = ZoneInfo("Europe/Amsterdam")


def test_mentions_fall_in_their_local_hour_of_the_week_and_cases_in_their_bracket() -> None:
    start = datetime(2026, 3, 16, tzinfo=UTC)  # two weeks, across the switch to summer time (29 March)
    end = start + timedelta(weeks=2)
    mentions = [datetime(2026, 3, 20, 8, 30, tzinfo=UTC),  # Fri 09:30 CET
                datetime(2026, 3, 27, 8, 59, tzinfo=UTC),  # Fri 09:59 CET
                datetime(2026, 3, 29, 8, 0, tzinfo=UTC)]   # Sun 10:00 CEST
    now = datetime(2026, 3, 30, 12, tzinfo=UTC)
    open_cases = [OpenCase("billing", "pending_department", "ann", now - timedelta(minutes=59)),
                  OpenCase("billing", "open", None, now - timedelta(hours=1)),
                  OpenCase("webcare", "open", "ann", now - timedelta(days=8)),
                  OpenCase("webcare", "pending_customer", "bob", now - timedelta(days=2))]
    report = workload(mentions, open_cases, start=start, end=end, now=now, tz=AMS)
    assert len(report.hours) == 168
    busy = {(h["weekday"], h["hour"]): (h["mentions"], h["per_week"]) for h in report.hours if h["mentions"]}
    assert busy == {("fri", 9): (2, 1.0), ("sun", 10): (1, 0.5)}
    assert report.agents == ({"agent": "ann", "claimed": 2, "open": 1, "pending_department": 1, "pending_customer": 0},
                             {"agent": "bob", "claimed": 1, "open": 0, "pending_department": 0, "pending_customer": 1})
    assert report.departments == ({"department": "billing", "open": 2, "claimed": 1, "unclaimed": 1},
                                  {"department": "webcare", "open": 2, "claimed": 2, "unclaimed": 0})
    assert {b["age"]: b["cases"] for b in report.queue_age} == {"<1h": 1, "1h-4h": 1, "4h-24h": 0, "1d-3d": 1,
                                                                "3d-7d": 0, ">=7d": 1}


def test_workload_over_http_json_and_csv(client: TestClient, signer: Signer, api: ApiClient,
                                         sessions: sessionmaker[Session]) -> None:
    ref = open_case(client, signer)
    api.post(f"/api/v1/cases/{ref}/claim", json={})
    lead = ApiClient(client, make_user_token(sessions, "lena", "lead"))
    body = lead.get("/api/v1/reports/workload").json()
    assert sum(h["mentions"] for h in body["mentions_by_hour_of_week"]) == 1
    assert [(d["department"], d["open"], d["claimed"]) for d in body["departments"]] == [("billing", 1, 1)]
    assert [a["claimed"] for a in body["agents"]] == [1] and body["queue_age"][0] == {"age": "<1h", "cases": 1}
    table = lead.get("/api/v1/reports/workload", params={"format": "csv"}).text.splitlines()
    assert table[0].startswith("section,weekday,hour,mentions,per_week")
    assert sum(1 for line in table if line.startswith("hour,")) == 168
    assert any(line.startswith("department,") and ",billing," in line for line in table)
