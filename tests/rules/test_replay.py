"""`webcare rules replay`: what a candidate folder would change on the mentions already stored.

The database holds mentions routed by the running folder (tests/fixtures/routing_basic); the
candidate sends invoices to network operations on the urgent SLA policy instead of to billing."""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.db import make_engine, make_sessionmaker, transaction
from app.ingest.service import ingest_mentions
from app.ingest.standard import ParsedItem
from app.kernel.clock import utc_now
from app.mentions.model import Author, Mention
from app.migrate import upgrade_to_head
from app.rules import load_ruleset
from app.rules.cli import rules_app
from app.rules.decision import Decision
from app.rules.replay import parse_since, responsible
from app.settings import get_settings
from tests.conftest import BASIC_RULES, REPO
from tests.dbutil import scratch_database_url

NOW = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)


def decision(department: str = "webcare", priority: str = "P3", sla_policy: str = "standard",
             matched: tuple[str, ...] = (), deciding: str | None = None) -> Decision:
    return Decision(department, "general", priority, sla_policy, (), (), matched, deciding, (), 0, "rs-x")


@pytest.mark.parametrize(("text", "expected"), [
    ("7d", NOW - timedelta(days=7)), ("24h", NOW - timedelta(hours=24)), ("30m", NOW - timedelta(minutes=30)),
    ("2w", NOW - timedelta(days=14)), ("2026-03-01T00:00:00+01:00", datetime(2026, 2, 28, 23, 0, tzinfo=UTC)),
    ("2026-03-01T00:00:00Z", datetime(2026, 3, 1, tzinfo=UTC)),
])
def test_since_is_a_duration_back_from_now_or_an_instant(text: str, expected: datetime) -> None:
    assert parse_since(text, now=NOW) == expected


@pytest.mark.parametrize("text", ["7", "7y", "yesterday", "2026-03-01T00:00:00"])
def test_since_refuses_what_it_cannot_place(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_since(text, now=NOW)


def test_the_rules_responsible_are_named() -> None:
    billing = decision("billing", matched=("billing",), deciding="billing")
    assert responsible(billing, decision("network", matched=("outage",), deciding="outage")) == \
        "billing -> outage"
    assert responsible(billing, decision("network", matched=("billing",), deciding="billing")) == \
        "billing (changed)"
    assert responsible(decision(), billing) == "(defaults) -> billing"
    raised = decision(priority="P2", matched=("influencer",))
    assert responsible(decision(), raised) == "(defaults) +influencer"
    assert responsible(raised, decision()) == "(defaults) -influencer"


def write_candidate(target: Path) -> Path:
    shutil.copytree(BASIC_RULES, target)
    rules = target / "rules" / "routing.yaml"
    rules.write_text(rules.read_text().replace("department: billing, category: billing}",
                                               "department: network, category: billing, sla_policy: urgent}"))
    return target


def store(url: str) -> None:
    """Mentions received by the running folder: three about an invoice (two from one author: one
    case), one outage, one greeting, and an invoice ten days ago (outside a 7-day replay)."""
    engine = make_engine(url)
    upgrade_to_head(engine)
    ruleset = load_ruleset(BASIC_RULES)
    received = [("m1", "a", "Mijn factuur klopt niet", 10 * 24 * 60), ("m2", "b", "Vraag over mijn factuur", 300),
                ("m3", "b", "En de rekening is te hoog", 240), ("m4", "c", "STORING in Utrecht", 180),
                ("m5", "d", "Hallo daar", 120), ("m6", "e", "dubbel afgeschreven!", 60)]
    now = utc_now()
    for external_id, author, text, minutes_ago in received:
        mention = Mention(external_id=external_id, channel="x", text=text, author=Author(id=author))
        with transaction(make_sessionmaker(engine)) as session:
            ingest_mentions(session, ruleset=ruleset, connector="listening-tool", items=[ParsedItem(mention, {})],
                            received_at=now - timedelta(minutes=minutes_ago))
    engine.dispose()


@pytest.fixture
def replay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    candidate = write_candidate(tmp_path / "candidate")
    with scratch_database_url(tmp_path) as url:
        store(url)
        monkeypatch.setenv("WEBCARE_DATABASE_URL", url)
        get_settings.cache_clear()

        def run(*args: str) -> str:
            result = CliRunner().invoke(rules_app, ["replay", str(BASIC_RULES), "--against", str(candidate), *args])
            assert result.exit_code == 0, result.output
            return result.stdout

        yield run
        get_settings.cache_clear()


def test_replay_counts_what_would_move_grouped_by_old_and_new(replay) -> None:  # type: ignore[no-untyped-def]
    report = json.loads(replay("--since", "7d", "--format", "json"))
    assert report["baseline"] == load_ruleset(BASIC_RULES).version != report["candidate"]
    # m1 is older than 7 days; m2, m3 (one case) and m6 are invoices; m4 and m5 do not change.
    assert (report["mentions"], report["changed_mentions"], report["changed_cases"]) == (5, 3, 2)
    changes = {(c["field"], c["old"], c["new"]): c for c in report["changes"]}
    assert set(changes) == {("department", "billing", "network"), ("sla_policy", "standard", "urgent")}
    moved = changes[("department", "billing", "network")]
    assert (moved["mentions"], moved["cases"]) == (3, 2)
    assert moved["rules"] == [{"rules": "billing (changed)", "mentions": 3}]
    assert [e["mention"] for e in moved["examples"]] == ["m6", "m3", "m2"]  # newest first
    assert moved["examples"][0]["text"] == "dubbel afgeschreven!"
    assert moved["examples"][0]["case"].startswith("WC-")


def test_replay_limits_to_the_newest_mentions_and_prints_text(replay) -> None:  # type: ignore[no-untyped-def]
    text = replay("--since", "30d", "--limit", "2")
    lines = text.splitlines()
    assert lines[0].startswith("2 mentions received since ")
    assert lines[1] == "1 mentions (1 cases) would be routed differently"  # m6 only; m5 is a greeting
    assert "department: 1 mentions (1 cases)" in lines
    assert "  billing -> network: 1 mentions, 1 cases" in lines
    assert "    rules: billing (changed) (1)" in lines
    assert any(line.startswith("    e.g. WC-") and line.endswith("m6: dubbel afgeschreven!") for line in lines)
    assert "priority: no change" in lines
    assert not any("replaying" in line for line in lines)  # no progress bar when not on a terminal


def test_replay_over_every_stored_mention_includes_the_old_one(replay) -> None:  # type: ignore[no-untyped-def]
    report = json.loads(replay("--since", "30d", "--format", "json"))
    assert (report["mentions"], report["changed_mentions"], report["changed_cases"]) == (6, 4, 3)


def test_a_progress_bar_runs_on_a_terminal(tmp_path: Path) -> None:
    candidate = write_candidate(tmp_path / "candidate")
    with scratch_database_url(tmp_path) as url:
        store(url)
        terminal, stderr = pty.openpty()
        env = {**os.environ, "WEBCARE_DATABASE_URL": url, "COLUMNS": "100"}
        try:
            done = subprocess.run([sys.executable, "-m", "app", "rules", "replay", str(BASIC_RULES), "--against",
                                   str(candidate)], env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=stderr,
                                  timeout=60)
            os.close(stderr)
            shown = b""
            while select.select([terminal], [], [], 0.5)[0]:
                try:
                    chunk = os.read(terminal, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                shown += chunk
        finally:
            os.close(terminal)
    assert done.returncode == 0
    assert b"replaying" in shown and b"100%" in shown
    assert done.stdout.decode().startswith("5 mentions received since ")  # the report itself is on stdout
