"""Urgency at a glance: SLA state by colour and icon, relative times with the exact time on hover,
the received / last-activity column, and unread markers per user."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.ui.i18n import translator
from app.ui.reads import is_unread
from app.ui.timers import nearest_timer, timer_views
from tests.support import Signer, mention, post_mentions
from tests.ui.support import login, make_user

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def test_urgency_of_timers() -> None:
    views = timer_views({
        "first_response": {"state": "running", "due_at": NOW + timedelta(minutes=12)},
        "resolution": {"state": "running", "due_at": NOW + timedelta(hours=4)},
        "department_ack": {"state": "warned", "due_at": NOW + timedelta(minutes=50)},
        "next_response": {"state": "breached", "due_at": NOW - timedelta(minutes=3)},
    }, now=NOW)
    assert {v.kind: (v.urgency, v.icon) for v in views} == {
        "first_response": ("soon", "◔"), "resolution": ("running", "○"), "department_ack": ("warned", "▲"),
        "next_response": ("breached", "✖")}
    paused = timer_views({"resolution": {"state": "paused", "due_at": None}}, now=NOW)
    nearest = nearest_timer(paused)
    assert nearest is not None and (nearest.urgency, nearest.icon) == ("paused", "❚❚")
    assert nearest_timer(timer_views({"resolution": {"state": "met", "due_at": None}}, now=NOW)) is None


@pytest.mark.parametrize(("delta", "en", "nl"), [
    (timedelta(minutes=12, seconds=30), "in 12 min", "over 12 min"),
    (-timedelta(minutes=3), "3 min ago", "3 min geleden"),
    (timedelta(seconds=-20), "just now", "zojuist"),
    (-timedelta(hours=2, minutes=59), "2 h ago", "2 u geleden"),
    (timedelta(days=3, hours=1), "in 3 d", "over 3 d"),
])
def test_relative_times(delta: timedelta, en: str, nl: str) -> None:
    assert translator("en").relative(NOW + delta, NOW) == en
    assert translator("nl").relative(NOW + delta, NOW) == nl


def test_unread_is_a_newer_customer_message_or_never_opened() -> None:
    assert is_unread(NOW, None)
    assert is_unread(NOW, NOW - timedelta(seconds=1))
    assert not is_unread(NOW, NOW)


@pytest.fixture
def agent(client: TestClient, sessions: sessionmaker[Session]) -> TestClient:
    make_user(sessions, "ann")
    login(client, "ann")
    return client


def row_of(html: str, ref: str) -> str:
    found = re.search(rf'<tr class="qrow[^"]*" id="row-{ref}".*?</tr>', html, re.S)
    assert found, f"no row {ref}"
    return found.group(0)


def test_queue_row_shows_times_sla_icon_and_unread(agent: TestClient, signer: Signer,
                                                   sessions: sessionmaker[Session]) -> None:
    ref = post_mentions(agent, signer, mention("Storing in Delft", conversation_id="conv-1")).json()["cases"][0]
    page = agent.get("/ui/").text
    row = row_of(page, ref)
    assert 'class="qrow unread"' in row and "new messages since you last opened it" in row
    # received just now, the exact moment and zone on hover
    received = re.search(r'<time datetime="([^"]+)" title="([^"]+)" class="rel " data-rel>([^<]+)</time>', row)
    assert received and received.group(3) == "just now"
    assert received.group(2).endswith("(Europe/Amsterdam)")
    assert 'data-urgency="soon"' in row or 'data-urgency="running"' in row
    assert re.search(r'<span class="sla-icon" aria-hidden="true">[○◔]</span>', row)
    assert "Times in Amsterdam time (Europe/Amsterdam)" in page

    agent.get(f"/ui/cases/{ref}")  # opening the case reads it
    assert 'class="qrow"' in row_of(agent.get("/ui/").text, ref)

    again = post_mentions(agent, signer, mention("nog steeds", conversation_id="conv-1")).json()["cases"][0]
    assert again == ref
    assert 'class="qrow unread"' in row_of(agent.get("/ui/").text, ref)  # the customer wrote since

    # another agent has not opened it at all
    make_user(sessions, "bob")
    agent.cookies.clear()
    login(agent, "bob")
    assert 'class="qrow unread"' in row_of(agent.get("/ui/").text, ref)

