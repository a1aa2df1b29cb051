"""The case page's conversation as a thread: mentions, replies with their delivery state, department
notes and acknowledgements in time order; the composer on a connector that can send and one that
cannot (the platform APIs mocked with respx, the sender run for real)."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
import respx
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.kernel.clock import utc_now
from app.replies.sender import ReplySender
from app.replies.targets import Bases
from app.secrets import SecretStore
from app.ui.thread import ReplyState, build_thread, initials, reply_delivery
from tests.conftest import BASIC_RULES
from tests.ingest.platform_support import platform_rules, poster_for
from tests.support import Signer, make_department_token, mention, post_mentions
from tests.ui.support import csrf_of, login, make_user

X = "https://x.test"
T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def section(html: str, name: str) -> str:
    found = re.search(rf'<section id="sec-{name}".*?</section>', html, re.S)
    assert found, f"no {name} section"
    return found.group(0)


def items(html: str) -> list[tuple[str, str | None]]:
    """(kind, delivery) of each thread message, in page order."""
    return [(kind, delivery or None) for kind, delivery in
            re.findall(r'<li class="msg[^"]*"[^>]*data-kind="(\w+)"(?: data-delivery="(\w+)")?', html)]


# ---- the pure core ---------------------------------------------------------------------------------------

def test_initials() -> None:
    assert initials("Jan de Vries") == "JV"
    assert initials("@els") == "E"
    assert initials("billing") == "B"
    assert initials("—") == "?"


def test_reply_delivery_states() -> None:
    replies = {1: ReplyState("sent"), 2: ReplyState("failed", "(#551) unavailable"), 3: ReplyState("pending"),
               4: ReplyState("unconfirmed", "timeout")}
    assert reply_delivery({"delivery": "queued", "reply_id": 1}, replies) == ("sent", None)
    assert reply_delivery({"delivery": "queued", "reply_id": 2}, replies) == ("failed", "(#551) unavailable")
    assert reply_delivery({"delivery": "queued", "reply_id": 3}, replies) == ("sending", None)
    assert reply_delivery({"delivery": "queued", "reply_id": 4}, replies) == ("unconfirmed", "timeout")
    assert reply_delivery({"delivery": "recorded", "reason": "connector x cannot send replies"}, replies) == \
        ("not_sendable", "connector x cannot send replies")
    assert reply_delivery({"delivery": "recorded"}, replies) == ("recorded", None)


def test_thread_orders_by_time_and_names_departments() -> None:
    def mention_at(i: int, minutes: int) -> SimpleNamespace:
        return SimpleNamespace(id=i, text=f"m{i}", channel="x", author_handle="@jan", author_name=None,
                               received_at=T0 + timedelta(minutes=minutes))

    def event(i: int, type_: str, minutes: int, actor_type: str, actor: str, **data: object) -> SimpleNamespace:
        return SimpleNamespace(id=i, type=type_, actor_type=actor_type, actor=actor,
                               at=T0 + timedelta(minutes=minutes), data=data)

    events = [event(1, "created", 0, "rule", "r1"), event(2, "responded", 5, "user", "ann", text="hoi",
                                                          delivery="queued", reply_id=7),
              event(3, "acknowledged", 5, "department", "billing", external_ref="BIL-1"),
              event(4, "note_added", 20, "department", "billing", text="credited"),
              event(5, "claimed", 21, "user", "ann")]
    thread = build_thread([mention_at(1, 0), mention_at(2, 10)], events, replies={7: ReplyState("sent")},
                          department_names={"billing": "Facturatie"}, unknown_author="?")
    assert [(i.kind, i.author, i.text) for i in thread] == [
        ("customer", "@jan", "m1"), ("reply", "ann", "hoi"), ("ack", "Facturatie", "BIL-1"),
        ("customer", "@jan", "m2"), ("note", "Facturatie", "credited")]
    assert [i.side for i in thread] == ["in", "out", "dept", "in", "dept"]
    assert thread[1].delivery == "sent"


# ---- through the pages -----------------------------------------------------------------------------------

@pytest.fixture
def agent(client: TestClient, sessions: sessionmaker[Session]) -> TestClient:
    make_user(sessions, "ann")
    login(client, "ann")
    return client


def post_form(client: TestClient, ref: str, action: str, **fields: str) -> httpx.Response:
    token = csrf_of(client.get(f"/ui/cases/{ref}").text)
    return client.post(f"/ui/cases/{ref}/act/{action}", data={"csrf_token": token, **fields},
                       follow_redirects=False)


def test_listening_tool_composer_says_it_cannot_send(agent: TestClient, signer: Signer) -> None:
    answer = post_mentions(agent, signer, mention("Mijn factuur klopt niet", author={"handle": "@jan"}))
    ref = answer.json()["cases"][0]
    page = agent.get(f"/ui/cases/{ref}").text
    composer = section(page, "composer")
    assert "listening-tool, which cannot post replies" in composer
    assert 'type="checkbox" name="send"' not in composer and "Send reply" not in composer
    assert "Record reply" in composer
    done = post_form(agent, ref, "respond", text="Ik bel je zo", send="1")
    assert done.status_code == 303 and done.headers["location"].endswith("?done=respond-unsendable")
    page = agent.get(done.headers["location"]).text
    assert "not sent: this connector cannot post replies" in page
    assert "Reply recorded" not in page
    assert items(section(page, "thread")) == [("customer", None), ("reply", "not_sendable")]
    assert "Ik bel je zo" in section(page, "thread")


def test_department_notes_and_acknowledgements_by_name(agent: TestClient, signer: Signer, client: TestClient,
                                                      sessions: sessionmaker[Session]) -> None:
    ref = post_mentions(agent, signer, mention("Mijn factuur klopt niet")).json()["cases"][0]  # to billing
    token = make_department_token(sessions, "billing")
    headers = {"authorization": f"Bearer {token}"}
    assert client.post(f"/api/v1/cases/{ref}/acknowledge", json={"external_ref": "BIL-4711"},
                       headers=headers).status_code == 200
    assert client.post(f"/api/v1/cases/{ref}/notes", json={"text": "Creditnota verstuurd"},
                       headers=headers).status_code == 200
    page = agent.get(f"/ui/cases/{ref}").text
    thread = section(page, "thread")
    assert items(thread) == [("customer", None), ("ack", None), ("note", None)]
    assert "BIL-4711" in thread and "Creditnota verstuurd" in thread
    assert thread.count("Facturatie") == 2 and ">billing<" not in thread
    timeline = section(page, "timeline")
    assert "Facturatie" in timeline
    assert not re.search(r"<dd>billing</dd>|<td>billing</td>", timeline), "a department id on the page"


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    return platform_rules(BASIC_RULES, tmp_path / "rules")


def run_sender(app, sessions: sessionmaker[Session], tmp_path: Path) -> int:  # type: ignore[no-untyped-def]
    secrets = SecretStore(production=False, var_dir=tmp_path / "sender", environ={"TEST_X_TOKEN": "x-token"})
    worker = ReplySender(sessions, app.state.rules, secrets, worker_id="w1", client=httpx.AsyncClient(),
                         bases=Bases(graph="https://graph.test", x=X, telegram="https://tg.test"), timeout=1,
                         lease_seconds=30, retry_seconds=30)
    return asyncio.run(worker.run_once(utc_now()))


def test_a_reply_shows_in_the_thread_with_its_delivery_state(agent: TestClient, app, sessions,  # type: ignore[no-untyped-def]
                                                             tmp_path: Path) -> None:
    ref = poster_for(agent, app).sample("xx", "x_tweet_create_events.json").json()["cases"][0]
    composer = section(agent.get(f"/ui/cases/{ref}").text, "composer")
    assert 'type="checkbox" name="send" value="1" checked' in composer and "cannot post replies" not in composer
    done = post_form(agent, ref, "respond", text="We kijken ernaar!", send="1")
    assert done.headers["location"].endswith("?done=respond-queued")
    assert items(section(agent.get(f"/ui/cases/{ref}").text, "thread"))[-1] == ("reply", "sending")
    with respx.mock(assert_all_called=True) as mock:
        mock.post(f"{X}/2/tweets").respond(201, json={"data": {"id": "1999", "text": "We kijken ernaar!"}})
        assert run_sender(app, sessions, tmp_path) == 1
    assert items(section(agent.get(f"/ui/cases/{ref}").text, "thread"))[-1] == ("reply", "sent")

    post_form(agent, ref, "respond", text="Nog iets?", send="1")
    with respx.mock() as mock:
        mock.post(f"{X}/2/tweets").respond(403, json={"title": "Forbidden", "detail": "You are not allowed"})
        run_sender(app, sessions, tmp_path)
    thread = section(agent.get(f"/ui/cases/{ref}").text, "thread")
    assert items(thread)[-2:] == [("reply", "sent"), ("reply", "failed")]
    assert "Not sent: the platform refused it" in thread
