"""Password checks never run inside a database transaction: on SQLite every transaction holds the
file's write lock, so a login hashing inside one stalled every webhook behind it (60 parallel logins:
a signed webhook took 6.7 s instead of 24 ms). While argon2 verifies a login's password, another
connection must be able to write at once."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import app.auth.passwords as passwords
from app.auth.service import add_user
from app.db import make_engine, make_sessionmaker, transaction
from app.kernel.clock import utc_now
from app.main import create_app
from app.migrate import upgrade_to_head
from app.settings import Settings
from tests.ui.support import PASSWORD, login


def test_no_write_lock_is_held_while_a_login_password_is_verified(
        tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    database = tmp_path / "hashing.db"
    engine = make_engine(f"sqlite:///{database}")
    upgrade_to_head(engine)
    with transaction(make_sessionmaker(engine)) as session:
        add_user(session, username="ann", role="agent", password=PASSWORD, now=utc_now())
    probes: list[str] = []
    real_verify = passwords._hasher.verify

    def verify_while_probing(hash_: Any, password: Any) -> bool:
        # Another writer, as a webhook would be: it must get the write lock without waiting.
        probe = sqlite3.connect(database, timeout=0.2, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            probes.append("free")
        except sqlite3.OperationalError as exc:
            probes.append(str(exc))
        finally:
            probe.close()
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
