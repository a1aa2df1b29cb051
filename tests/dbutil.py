"""Databases of their own for tests that run several processes or a live server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.db import sqlalchemy_url


@contextmanager
def scratch_database_url(tmp_path: Path) -> Iterator[str]:
    """A new empty database, dropped afterwards: on the PostgreSQL server the suite runs against,
    else a SQLite file under `tmp_path`."""
    configured = os.environ.get("WEBCARE_TEST_DATABASE_URL")
    if not configured or not configured.startswith("postgres"):
        yield f"sqlite:///{tmp_path / f'scratch-{uuid.uuid4().hex[:8]}.db'}"
        return
    name = f"webcare_scratch_{uuid.uuid4().hex[:12]}"
    admin = create_engine(sqlalchemy_url(configured), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(sqlalchemy_url(configured)).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def sqlite_write_probe(database: Path) -> str:
    """Whether another writer gets the SQLite file's write lock at once: "free", or the error
    (e.g. "database is locked") when a transaction holds it for longer than 0.2 s."""
    import sqlite3

    probe = sqlite3.connect(database, timeout=0.2, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return "free"
    except sqlite3.OperationalError as exc:
        return str(exc)
    finally:
        probe.close()
