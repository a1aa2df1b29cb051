"""Logins are throttled per username and per client address: a growing delay, then 429 with
Retry-After before any password is checked; ops see who is blocked; X-Forwarded-For counts only
from trusted proxies."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.auth.throttle import FREE_FAILURES, MAX_DELAY, delay_after, retry_after_seconds, throttled
from app.main import create_app
from app.settings import Settings
from app.web.client import client_address, parse_networks
from tests.ui.support import PASSWORD, csrf_of, make_user

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HTML = {"accept": "text/html"}


def test_the_delay_grows_after_the_free_failures_and_stops_growing() -> None:
    assert [delay_after(n) for n in range(FREE_FAILURES)] == [timedelta(0)] * FREE_FAILURES
    assert [delay_after(FREE_FAILURES + i).total_seconds() for i in range(4)] == [10, 20, 40, 80]
    assert delay_after(FREE_FAILURES + 100) == MAX_DELAY


def test_retry_after_is_the_longest_block_still_running() -> None:
    assert retry_after_seconds([None, T0 - timedelta(seconds=1)], T0) == 0
    assert retry_after_seconds([T0 + timedelta(seconds=1.2), T0 + timedelta(seconds=7)], T0) == 7


def test_forwarded_for_counts_only_from_trusted_proxies() -> None:
    trusted = parse_networks("10.0.0.0/8, 192.0.2.7")
    assert client_address("203.0.113.5", "198.51.100.1", trusted) == "203.0.113.5"  # not a proxy: ignored
    assert client_address("10.1.2.3", "198.51.100.1", trusted) == "198.51.100.1"
    # A client's own forged entry stands left of the address the proxy saw: the rightmost untrusted wins.
    assert client_address("10.1.2.3", "1.1.1.1, 198.51.100.1, 192.0.2.7", trusted) == "198.51.100.1"
    assert client_address("10.1.2.3", None, trusted) == "10.1.2.3"
    with pytest.raises(ValueError, match="'nonsense'"):
        parse_networks("10.0.0.0/8, nonsense")
    assert parse_networks("") == [] and ipaddress.ip_network("10.0.0.0/8") in trusted


def attempt(client: TestClient, username: str, password: str, **headers: str):  # type: ignore[no-untyped-def]
    page = client.get("/ui/login")
    return client.post("/ui/login", data={"username": username, "password": password,
                                          "csrf_token": csrf_of(page.text)}, headers=headers,
                       follow_redirects=False)


def test_failed_logins_of_one_user_end_in_429_even_with_the_right_password(
        client: TestClient, sessions: sessionmaker[Session]) -> None:
    make_user(sessions, "ann")
    for _ in range(FREE_FAILURES):
        assert attempt(client, "ann", "wrong-password-1").status_code == 401
    refused = attempt(client, "ann", PASSWORD)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["type"].endswith("/too-many-requests")
    page = attempt(client, "ann", PASSWORD, **HTML)
    assert page.status_code == 429 and "Too many failed logins" in page.text and "retry-after" in page.headers
    with sessions() as session:
        shown = {row.key: row for row in throttled(session, now=datetime.now(UTC))}
    assert shown["user:ann"].failures == FREE_FAILURES and shown["user:ann"].blocked_until is not None


def test_the_block_is_logged_for_ops(client: TestClient, sessions: sessionmaker[Session],
                                    caplog: pytest.LogCaptureFixture) -> None:
    make_user(sessions, "bea")
    with caplog.at_level(logging.WARNING, logger="app.auth.throttle"):
        for _ in range(FREE_FAILURES):
            attempt(client, "bea", "wrong-password-1")
    blocked = [r for r in caplog.records if r.getMessage() == "login throttled"]
    assert {r.throttle_key for r in blocked} == {"user:bea", "addr:testclient"}
    assert all(r.blocked_seconds == 10 for r in blocked)
    assert all("wrong-password" not in r.getMessage() + str(r.__dict__) for r in caplog.records)


def test_one_address_guessing_many_usernames_is_blocked(client: TestClient, sessions: sessionmaker[Session]) -> None:
    make_user(sessions, "cor")
    for i in range(FREE_FAILURES):
        assert attempt(client, f"nobody{i}", "wrong-password-1").status_code == 401
    assert attempt(client, "cor", PASSWORD).status_code == 429  # a new username, the same address


def test_a_success_clears_the_username_count(client: TestClient, sessions: sessionmaker[Session]) -> None:
    make_user(sessions, "dirk")
    for _ in range(FREE_FAILURES - 1):
        attempt(client, "dirk", "wrong-password-1")
    assert attempt(client, "dirk", PASSWORD).status_code == 303
    with sessions() as session:
        assert "user:dirk" not in {row.key for row in throttled(session, now=datetime.now(UTC))}


@pytest.fixture
def proxied(settings: Settings, engine, sessions: sessionmaker[Session]) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """The app behind a proxy at 10.0.0.1 that it trusts."""
    app = create_app(settings.model_copy(update={"trusted_proxies": "10.0.0.0/8", "password_hash_concurrency": 1}),
                     engine=engine, sessions=sessions)
    with TestClient(app, client=("10.0.0.1", 40000)) as client:
        yield client


def test_behind_a_trusted_proxy_each_forwarded_client_counts_apart(proxied: TestClient,
                                                                   sessions: sessionmaker[Session]) -> None:
    make_user(sessions, "eva")
    for i in range(FREE_FAILURES):
        attempt(proxied, f"nobody{i}", "wrong-password-1", **{"x-forwarded-for": "198.51.100.1"})
    assert attempt(proxied, "eva", PASSWORD, **{"x-forwarded-for": "198.51.100.1"}).status_code == 429
    assert attempt(proxied, "eva", PASSWORD, **{"x-forwarded-for": "198.51.100.2"}).status_code == 303
    assert proxied.app.state.hashing_limiter.total_tokens == 1  # type: ignore[attr-defined]
