"""Password checks never run inside a database transaction: on SQLite every transaction holds the
file's write lock, so a login hashing inside one stalled every webhook behind it (60 parallel logins:
a signed webhook took 6.7 s instead of 24 ms). While argon2 verifies a login's password, another
connection must be able to write at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import app.auth.passwords as passwords
from app.audit import SYSTEM
from app.auth.service import add_user
from app.db import make_engine, make_sessionmaker, transaction
from app.kernel.clock import utc_now
from app.main import create_app
from app.migrate import upgrade_to_head
from app.settings import Settings
from tests.dbutil import sqlite_write_probe
from tests.ui.support import PASSWORD, csrf_of, login


def test_no_write_lock_is_held_while_a_login_password_is_verified(
        tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    database = tmp_path / "hashing.db"
    engine = make_engine(f"sqlite:///{database}")
    upgrade_to_head(engine)
    with transaction(make_sessionmaker(engine)) as session:
        add_user(session, username="ann", role="agent", password=PASSWORD, now=utc_now(), actor=SYSTEM)
    probes: list[str] = []
    real_verify = passwords._hasher.verify

    def verify_while_probing(hash_: Any, password: Any) -> bool:
        # Another writer, as a webhook would be: it must get the write lock without waiting.
        probes.append(sqlite_write_probe(database))
        return bool(real_verify(hash_, password))

    class ProbingHasher:  # argon2's hasher, probing the database each time it verifies
        verify = staticmethod(verify_while_probing)
        hash = staticmethod(passwords._hasher.hash)

    monkeypatch.setattr(passwords, "_hasher", ProbingHasher())
    with TestClient(create_app(settings, engine=engine)) as client:
        login(client, "ann", "a wrong password!!")      # refused: one verification
        login(client, "ann")                            # accepted: another
        assert client.get("/ui/", follow_redirects=False).status_code == 200
    engine.dispose()
    assert probes == ["free", "free"], probes


def test_parallel_logins_hash_at_most_the_configured_number_at_once(
        tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    engine = make_engine(f"sqlite:///{tmp_path / 'parallel.db'}")
    upgrade_to_head(engine)
    users = [f"agent{n}" for n in range(6)]
    with transaction(make_sessionmaker(engine)) as session:
        for name in users:
            add_user(session, username=name, role="agent", password=PASSWORD, now=utc_now(), actor=SYSTEM)
    lock = threading.Lock()
    running, most = 0, 0
    real = passwords._hasher

    def counting_verify(hash_: Any, password: Any) -> bool:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            time.sleep(0.3)  # long enough that six parallel logins overlap
            return bool(real.verify(hash_, password))
        finally:
            with lock:
                running -= 1

    class CountingHasher:
        verify = staticmethod(counting_verify)
        hash = staticmethod(real.hash)

    monkeypatch.setattr(passwords, "_hasher", CountingHasher())
    limit = settings.password_hash_concurrency
    assert limit == 2
    with TestClient(create_app(settings, engine=engine)) as client:
        csrf = csrf_of(client.get("/ui/login").text)  # the double-submit cookie is in the client's jar

        def log_in(name: str) -> int:
            return client.post("/ui/login", data={"username": name, "password": PASSWORD, "csrf_token": csrf,
                                                  "next": "/ui/"}, follow_redirects=False).status_code

        with ThreadPoolExecutor(len(users)) as pool:
            statuses = list(pool.map(log_in, users))
    engine.dispose()
    assert statuses == [303] * len(users)  # each logged in
    assert most == limit, f"at most {limit} password checks at once, saw {most}"
