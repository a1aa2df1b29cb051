"""`webcare inbound replay` against a database of its own, as ops would run it after a fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.audit import cli_actor
from app.audit.models import AuditEntry
from app.db import make_engine, make_sessionmaker, transaction
from app.ingest.cli import inbound_app
from app.ingest.dead_letters import keep_dead_letter
from app.ingest.models import InboundDeadLetter
from app.kernel.clock import utc_now
from app.mentions.stored import StoredMention
from app.migrate import upgrade_to_head
from app.settings import get_settings
from tests.conftest import BASIC_RULES
from tests.dbutil import scratch_database_url
from tests.ingest.platform_support import SAMPLES, platform_rules


def test_replay_ingests_what_now_parses_and_keeps_what_does_not(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    rules = platform_rules(BASIC_RULES, tmp_path / "rules")
    with scratch_database_url(tmp_path) as url:
        engine = make_engine(url)
        upgrade_to_head(engine)
        sessions = make_sessionmaker(engine)
        with transaction(sessions) as session:
            good = keep_dead_letter(session, connector="wa", kind="whatsapp",
                                    body=(SAMPLES / "whatsapp_message.json").read_bytes(),
                                    failures=["body: an adapter bug"], content_type="application/json", now=utc_now())
            bad = keep_dead_letter(session, connector="tg", kind="telegram", body=b"\xff not json",
                                   failures=["body: not JSON"], content_type=None, now=utc_now())
            session.flush()
            good_id, bad_id = good.id, bad.id
        monkeypatch.setenv("WEBCARE_DATABASE_URL", url)
        monkeypatch.setenv("WEBCARE_RULES_DIR", str(rules))
        monkeypatch.setenv("WEBCARE_VAR_DIR", str(tmp_path / "var"))
        get_settings.cache_clear()
        try:
            result = CliRunner().invoke(inbound_app, ["replay"])
            only_bad = CliRunner().invoke(inbound_app, ["replay", "--connector", "wa"])
        finally:
            get_settings.cache_clear()
        assert result.exit_code == 1, result.output
        lines = result.stdout.splitlines()
        assert lines[0].startswith(f"dead letter {good_id} (wa): replayed; accepted 1,")
        assert lines[1].startswith(f"dead letter {bad_id} (tg): still failing: body: not JSON")
        assert (only_bad.exit_code, only_bad.stdout) == (0, "")  # nothing pending for wa any more
        with transaction(sessions) as session:
            statuses = dict(session.execute(select(InboundDeadLetter.id, InboundDeadLetter.status)).all())
            texts = list(session.scalars(select(StoredMention.text)))
        assert statuses == {good_id: "replayed", bad_id: "pending"}
        assert texts == ["Does it come in another color?"]
        with transaction(sessions) as session:  # each replay audited, with the account that ran it
            audit = [(e.actor_type, e.actor, e.target, e.details)
                     for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        assert audit == [
            ("cli", cli_actor().name, f"dead_letter:{good_id}",
             {"connector": "wa", "replayed": True, "accepted": 1, "via": "cli"}),
            ("cli", cli_actor().name, f"dead_letter:{bad_id}",
             {"connector": "tg", "replayed": False, "accepted": 0, "via": "cli"})]
        engine.dispose()
