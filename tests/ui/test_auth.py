"""Login, sessions, CSRF, the first-login password change and the API used from the UI session."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.auth.models import User
from app.kernel.clock import utc_now
from app.ui.bootstrap import ensure_admin
from app.ui.sessions import SESSION_COOKIE
from tests.ui.support import PASSWORD, csrf_of, login, make_user


def test_pages_need_a_login_and_come_back_after_it(client: TestClient, sessions: sessionmaker[Session]) -> None:
    make_user(sessions, "ann")
    first = client.get("/ui/?status=open", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/ui/login?next=%2Fui%2F%3Fstatus%3Dopen"
    assert client.get("/ui/live/queue").status_code == 401
    page = client.get("/ui/login")
    answer = client.post("/ui/login", data={"username": "ann", "password": PASSWORD, "csrf_token": csrf_of(page.text),
                                            "next": "/ui/?status=open"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/?status=open"
    cookie = answer.headers["set-cookie"]
    assert f"{SESSION_COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert "Secure" not in cookie
    assert client.get("/ui/").status_code == 200


def test_the_cookie_is_secure_behind_https(client: TestClient, sessions: sessionmaker[Session]) -> None:
    make_user(sessions, "ann")
    page = client.get("/ui/login")
    answer = client.post("/ui/login", data={"username": "ann", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
                         headers={"x-forwarded-proto": "https"}, follow_redirects=False)
    assert "Secure" in answer.headers["set-cookie"]


def test_wrong_passwords_and_forged_logins_are_refused(client: TestClient, sessions: sessionmaker[Session]) -> None:
    make_user(sessions, "ann")
    page = client.get("/ui/login")
    wrong = client.post("/ui/login", data={"username": "ann", "password": "nope-nope-nope",
                                           "csrf_token": csrf_of(page.text)})
    assert wrong.status_code == 401 and "Wrong username or password" in wrong.text
    unknown = client.post("/ui/login", data={"username": "nobody", "password": PASSWORD,
                                             "csrf_token": csrf_of(page.text)})
    assert unknown.status_code == 401
    forged = client.post("/ui/login", data={"username": "ann", "password": PASSWORD, "csrf_token": "forged"})
    assert forged.status_code == 403
    assert SESSION_COOKIE not in client.cookies


def test_forms_without_the_csrf_token_are_refused(client: TestClient, sessions: sessionmaker[Session]) -> None:
    make_user(sessions, "ann")
    login(client, "ann")
    refused = client.post("/ui/settings/language", data={"language": "nl"})
    assert refused.status_code == 403 and "did not come from this site" in refused.text
    refused = client.post("/ui/logout", data={"csrf_token": "wrong"})
    assert refused.status_code == 403
    token = csrf_of(client.get("/ui/settings").text)
    assert client.post("/ui/settings/language", data={"language": "nl", "csrf_token": token}).status_code == 200
    assert 'lang="nl"' in client.get("/ui/").text


def test_first_login_must_change_the_one_time_password(client: TestClient, sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        password = ensure_admin(session, utc_now())
        assert password is not None
        assert ensure_admin(session, utc_now()) is None  # only on the very first start
    landed = login(client, "admin", password)
    assert "Choose your own password" in landed
    assert client.get("/ui/", follow_redirects=False).headers["location"] == "/ui/password"
    assert client.get("/api/v1/cases").status_code == 401  # not even the API before the change
    token = csrf_of(client.get("/ui/password").text)
    mismatch = client.post("/ui/password", data={"current": password, "new": "a-new-password-1",
                                                 "confirm": "other-password-1", "csrf_token": token})
    assert mismatch.status_code == 422
    wrong = client.post("/ui/password", data={"current": "not-it-at-all", "new": "a-new-password-1",
                                              "confirm": "a-new-password-1", "csrf_token": token})
    assert wrong.status_code == 422
    done = client.post("/ui/password", data={"current": password, "new": "a-new-password-1",
                                             "confirm": "a-new-password-1", "csrf_token": token})
    assert done.status_code == 200 and "Your password has been changed" in done.text
    with sessions() as session:
        admin = session.scalar(select(User).where(User.username == "admin"))
        assert admin is not None and admin.role == "ops" and not admin.must_change_password


def test_logout_ends_the_session_on_the_server(client: TestClient, sessions: sessionmaker[Session]) -> None:
    make_user(sessions, "ann")
    login(client, "ann")
    cookie = client.cookies.get(SESSION_COOKIE)
    token = csrf_of(client.get("/ui/").text)
    assert client.post("/ui/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    client.cookies.set(SESSION_COOKIE, cookie or "")  # a copied cookie is worthless afterwards
    assert client.get("/ui/", follow_redirects=False).status_code == 303


def test_the_api_accepts_the_session_for_reads_and_csrf_guarded_writes(
        client: TestClient, sessions: sessionmaker[Session]) -> None:
    make_user(sessions, "ann")
    login(client, "ann")
    assert client.get("/api/v1/cases").status_code == 200
    assert client.post("/api/v1/cases/WC-000001/claim", json={}).status_code == 401  # no CSRF header
    token = csrf_of(client.get("/ui/").text)
    with_header = client.post("/api/v1/cases/WC-999999/claim", json={}, headers={"x-csrf-token": token})
    assert with_header.status_code == 404  # authenticated: the case just does not exist


def test_ui_pages_carry_security_headers(client: TestClient, sessions: sessionmaker[Session]) -> None:
    page = client.get("/ui/login")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"
