"""The incident in the agents' UI: one banner and one grouped row per open incident in the queue
(Dutch and English), the incident page with its cases, one reply to all of them, closing it, and
CSRF on both forms."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.cases.models import CaseEvent
from app.db import transaction
from app.incidents.service import check_incidents
from tests.incidents.storm import Feed, storm, storm_rules
from tests.ui.support import csrf_of, login, make_user


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    return storm_rules(tmp_path / "rules")


@pytest.fixture
def incident(app, sessions: sessionmaker[Session]) -> tuple[int, list[int]]:  # type: ignore[no-untyped-def]
    feed = Feed(sessions, app.state.rules.current)
    posts = storm(count=22, every=timedelta(seconds=2))
    feed.ingest(posts)
    with transaction(sessions) as session:
        [opened] = check_incidents(session, feed.ruleset, now=posts[-1].at).opened
    return opened, sorted(feed.case_of.values())


def agent(client: TestClient, sessions: sessionmaker[Session], language: str = "en") -> TestClient:
    make_user(sessions, f"ann-{language}", language=language)
    login(client, f"ann-{language}")
    return client


@pytest.mark.parametrize(("language", "banner", "row"), [
    ("en", "Incident: Storing", "22 cases, answered together from the incident page"),
    ("nl", "Incident: Storing", "22 cases, samen te beantwoorden vanaf de incidentpagina"),
])
def test_the_queue_shows_one_banner_and_one_grouped_row(client: TestClient, sessions: sessionmaker[Session],
                                                        incident: tuple[int, list[int]], language: str, banner: str,
                                                        row: str) -> None:
    page = agent(client, sessions, language).get("/ui/").text
    assert page.count('class="incident-banner"') == 1 and banner in page
    rows = re.findall(r'<tr class="incident-row" id="incident-row-(\d+)">(.*?)</tr>', page, re.S)
    assert [int(i) for i, _ in rows] == [incident[0]] and row in rows[0][1]
    assert f'href="/ui/incidents/{incident[0]}"' in page


def test_no_banner_without_an_open_incident(client: TestClient, sessions: sessionmaker[Session]) -> None:
    page = agent(client, sessions).get("/ui/").text
    assert "incident-banner" not in page and "incident-row" not in page


def test_one_reply_from_the_incident_page_answers_every_case(client: TestClient, sessions: sessionmaker[Session],
                                                            session: Session, incident: tuple[int, list[int]]) -> None:
    browser = agent(client, sessions)
    page = browser.get(f"/ui/incidents/{incident[0]}").text
    assert re.findall(r'href="/ui/cases/(WC-\d+)"', page) == [f"WC-{i:06d}" for i in incident[1]]
    refused = browser.post(f"/ui/incidents/{incident[0]}/respond", data={"text": "Sorry!", "send": "1"})
    assert refused.status_code == 403
    sent = browser.post(f"/ui/incidents/{incident[0]}/respond",
                        data={"text": "We werken aan de storing.", "send": "1", "csrf_token": csrf_of(page)},
                        follow_redirects=True)
    assert sent.status_code == 200 and "Answered 22 cases; 0 skipped" in sent.text
    responded = session.scalars(select(CaseEvent.case_id).where(CaseEvent.type == "responded")).all()
    assert sorted(responded) == incident[1]
    empty = browser.post(f"/ui/incidents/{incident[0]}/respond", data={"text": "  ", "csrf_token": csrf_of(page)})
    assert empty.status_code == 422 and "Write the reply first." in empty.text


def test_closing_from_the_page_removes_the_banner(client: TestClient, sessions: sessionmaker[Session],
                                                 incident: tuple[int, list[int]]) -> None:
    browser = agent(client, sessions)
    page = browser.get(f"/ui/incidents/{incident[0]}").text
    assert browser.post(f"/ui/incidents/{incident[0]}/close", data={}).status_code == 403
    closed = browser.post(f"/ui/incidents/{incident[0]}/close", data={"csrf_token": csrf_of(page)},
                          follow_redirects=True)
    assert closed.status_code == 200 and "Incident closed." in closed.text
    again = browser.post(f"/ui/incidents/{incident[0]}/close", data={"csrf_token": csrf_of(page)})
    assert again.status_code == 409 and "closed already" in again.text
    assert "incident-banner" not in browser.get("/ui/").text
    assert browser.get("/ui/incidents/999999").status_code == 404
