"""A database of its own for the tests that commit for real from several threads at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from app.db import make_engine
from app.migrate import upgrade_to_head
from tests.dbutil import scratch_database_url


@pytest.fixture
def live_database(tmp_path: Path) -> Iterator[Engine]:
    """A database of its own, committed to for real (PostgreSQL when the suite runs on it)."""
    with scratch_database_url(tmp_path) as url:
        engine = make_engine(url)
        upgrade_to_head(engine)
        yield engine
        engine.dispose()
