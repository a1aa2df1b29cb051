"""`webcare rules show --hits`: each rule's totals from the service's database."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.db import make_engine, make_sessionmaker, transaction
from app.kernel.clock import utc_now
from app.migrate import upgrade_to_head
from app.rules.cli import rules_app
from app.rules.hits import HitCount, flush_hits
from app.settings import get_settings
from tests.conftest import BASIC_RULES
from tests.dbutil import scratch_database_url


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    with scratch_database_url(tmp_path) as url:
        monkeypatch.setenv("WEBCARE_DATABASE_URL", url)
        get_settings.cache_clear()
        yield url
        get_settings.cache_clear()


def test_show_prints_each_rules_totals_beside_it(database: str) -> None:
    engine = make_engine(database)
    upgrade_to_head(engine)
    with transaction(make_sessionmaker(engine)) as session:
        flush_hits(session, {"outage": HitCount(12, 9), "influencer": HitCount(4, 0)}, now=utc_now())
    with transaction(make_sessionmaker(engine)) as session:  # a second process's batch adds up
        flush_hits(session, {"outage": HitCount(1, 1)}, now=utc_now())
    engine.dispose()

    result = CliRunner().invoke(rules_app, ["show", str(BASIC_RULES), "--hits"])

    assert result.exit_code == 0, result.output
    rules = [line.split() for line in result.stdout.splitlines() if line.startswith("  ") and "matched" in line]
    assert [(r[1], r[3], r[5]) for r in rules] == [("influencer", "4", "0"), ("outage", "13", "10"),
                                                   ("billing", "0", "0")]


def test_show_without_a_database_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBCARE_DATABASE_URL", f"sqlite:///{tmp_path}/missing/webcare.db")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(rules_app, ["show", str(BASIC_RULES), "--hits"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "cannot read the hit counts from the database" in result.stderr
    plain = CliRunner().invoke(rules_app, ["show", str(BASIC_RULES)])
    assert plain.exit_code == 0 and "matched" not in plain.stdout
