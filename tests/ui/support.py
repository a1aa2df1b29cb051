"""Helpers for the UI tests: log in through the real form, read CSRF tokens from pages."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.audit import SYSTEM
from app.auth.service import add_user
from app.kernel.clock import utc_now

PASSWORD = "correct horse battery"


def make_user(sessions: sessionmaker[Session], username: str, role: str = "agent", *, must_change: bool = False,
              language: str = "en") -> None:
    with sessions() as session, session.begin():
        user = add_user(session, username=username, role=role, password=PASSWORD, now=utc_now(), actor=SYSTEM,
                        must_change_password=must_change)
        user.language = language


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD, *, follow: bool = True) -> str:
    """Log in through the form; returns the HTML of the page landed on."""
    page = client.get("/ui/login")
    assert page.status_code == 200
    response = client.post("/ui/login", data={"username": username, "password": password,
                                              "csrf_token": csrf_of(page.text), "next": "/ui/"},
                           follow_redirects=follow)
    return response.text
