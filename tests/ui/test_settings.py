"""Personal settings and small things: an optional language that follows the browser when unset,
single-key shortcuts that can be turned off (WCAG 2.1.4), `/favicon.ico`, Dutch field names."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.auth.models import User
from app.ui.i18n import browser_language, translator
from tests.ui.support import csrf_of, login, make_user


@pytest.mark.parametrize(("header", "expected"), [
    ("nl-NL,nl;q=0.9,en;q=0.8", "nl"),
    ("en-GB,en;q=0.9,nl;q=0.8", "en"),
    ("de-DE,de;q=0.9,nl;q=0.5", "nl"),
    ("fr, en;q=0.1, nl;q=0.7", "nl"),
    ("nl;q=0", "en"),
    ("", "en"),
    ("nl;q=abc, en", "en"),
])
def test_browser_language(header: str, expected: str) -> None:
    assert browser_language(header) == expected


def test_external_id_is_translated() -> None:
    assert translator("nl").field("external_id") == "Extern id"
    assert translator("en").field("external_id") == "External id"


def test_language_follows_the_browser_until_chosen(client: TestClient, sessions: sessionmaker[Session]) -> None:
    make_user(sessions, "ann")
    with sessions() as session, session.begin():  # a new user has made no choice
        session.scalars(select(User).where(User.username == "ann")).one().language = None
    login(client, "ann")
    dutch = {"accept-language": "nl-NL,nl;q=0.9"}
    assert 'lang="nl"' in client.get("/ui/", headers=dutch).text
    assert 'lang="en"' in client.get("/ui/", headers={"accept-language": "en-US"}).text
    page = client.get("/ui/settings", headers=dutch).text
    assert '<option value="" selected>Zoals mijn browser' in page
    client.post("/ui/settings/language", data={"csrf_token": csrf_of(page), "language": "en"})
    assert 'lang="en"' in client.get("/ui/", headers=dutch).text  # the choice wins over the browser
    page = client.get("/ui/settings").text
    assert '<option value="en" selected>English' in page
    client.post("/ui/settings/language", data={"csrf_token": csrf_of(page), "language": ""})
    assert 'lang="nl"' in client.get("/ui/", headers=dutch).text
    with sessions() as session:
        assert session.scalars(select(User.language).where(User.username == "ann")).one() is None


def test_new_users_follow_the_browser(client: TestClient, sessions: sessionmaker[Session]) -> None:
    make_user(sessions, "olga", "ops")
    login(client, "olga")
    token = csrf_of(client.get("/ui/admin/users").text)
    client.post("/ui/admin/users", data={"username": "bob", "role": "agent", "language": "", "csrf_token": token})
    with sessions() as session:
        assert session.scalars(select(User.language).where(User.username == "bob")).one() is None


def test_shortcuts_can_be_turned_off(client: TestClient, sessions: sessionmaker[Session]) -> None:
    make_user(sessions, "ann")
    login(client, "ann")
    page = client.get("/ui/").text
    assert 'data-shortcuts="on"' in page and 'aria-keyshortcuts="/"' in page
    settings = client.get("/ui/settings").text
    assert 'name="shortcuts" value="1" id="shortcuts" checked' in settings
    forged = client.post("/ui/settings/shortcuts", data={})
    assert forged.status_code == 403
    client.post("/ui/settings/shortcuts", data={"csrf_token": csrf_of(settings)})  # the box unticked
    page = client.get("/ui/").text
    assert 'data-shortcuts="off"' in page and "aria-keyshortcuts" not in page
    assert "Single-key shortcuts are off for you" in page
    with sessions() as session:
        assert session.scalars(select(User.keyboard_shortcuts).where(User.username == "ann")).one() is False
    client.post("/ui/settings/shortcuts", data={"csrf_token": csrf_of(page), "shortcuts": "1"})
    assert 'data-shortcuts="on"' in client.get("/ui/").text


def test_favicon(client: TestClient) -> None:
    answer = client.get("/favicon.ico")
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/x-icon"
    assert answer.content[:4] == b"\x00\x00\x01\x00"  # an ICO header
    assert b"\x89PNG" in answer.content
