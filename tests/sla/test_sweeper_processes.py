"""The sweeper across processes: three sweepers on one database fire each event exactly once, and
a stopped service catches up on restart with every missed event once, in order."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from app.cases.models import CaseEvent
from app.db import make_engine, make_sessionmaker, transaction
from app.delivery.signing import sign_payload
from app.ingest.service import ingest_mentions
from app.ingest.standard import ParsedItem
from app.kernel.clock import utc_now
from app.mentions.model import Author, Mention
from app.migrate import upgrade_to_head
from app.rules import load_ruleset
from app.sla.models import SlaTimer
from tests.conftest import REPO
from tests.dbutil import scratch_database_url
from tests.test_service_e2e import run, start_service

pytestmark = pytest.mark.slow
FAST_RULES = REPO / "tests" / "fixtures" / "routing_fast"
BASIC_RULES = REPO / "tests" / "fixtures" / "routing_basic"
SWEEP = """
import sys
import app.case_handlers  # an entry point wires what a case change does
from app.db import make_engine, make_sessionmaker
from app.rules import load_ruleset
from app.rules.holder import RuleSetHolder
from app.sla.sweeper import sweep_due
from pathlib import Path
engine = make_engine(sys.argv[1])
rules = Path(sys.argv[2])
print(sweep_due(make_sessionmaker(engine), RuleSetHolder(rules, load_ruleset(rules)), limit=int(sys.argv[3])))
"""


def test_three_sweeper_processes_fire_each_event_exactly_once(tmp_path: Path) -> None:
    with scratch_database_url(tmp_path) as url:
        engine = make_engine(url)
        upgrade_to_head(engine)
        ruleset = load_ruleset(BASIC_RULES)
        an_hour_ago = utc_now() - timedelta(hours=1, minutes=1)
        items = [ParsedItem(Mention(external_id=f"m{i}", channel="x", text="hoe laat zijn jullie open?",
                                    author=Author(id=f"a{i}")), {}) for i in range(1000)]
        with transaction(make_sessionmaker(engine)) as session:
            ingest_mentions(session, ruleset=ruleset, connector="listening-tool", items=items,
                            received_at=an_hour_ago)
        with engine.connect() as connection:
            due = connection.scalar(select(func.count()).select_from(SlaTimer)
                                    .where(SlaTimer.next_fire_at <= utc_now()))
        assert due == 1000  # first_response (1h) is past its warning and deadline; resolution (2d) is not

        sweepers = [subprocess.Popen([sys.executable, "-c", SWEEP, url, str(BASIC_RULES), "40"], cwd=REPO,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
        handled = []
        for process in sweepers:
            out, err = process.communicate(timeout=300)
            assert process.returncode == 0, err
            handled.append(int(out.strip().splitlines()[-1]))
        assert sum(handled) >= 1000

        with engine.connect() as connection:
            counts = dict(connection.execute(
                select(CaseEvent.type, func.count()).where(CaseEvent.type.in_(["sla_warning", "sla_breached"]))
                .group_by(CaseEvent.type)).all())
            per_case = connection.execute(
                select(CaseEvent.case_id, CaseEvent.type, func.count()).where(
                    CaseEvent.type.in_(["sla_warning", "sla_breached", "sla_escalated"]))
                .group_by(CaseEvent.case_id, CaseEvent.type).having(func.count() > 1)).all()
        assert counts == {"sla_warning": 1000, "sla_breached": 1000}
        assert per_case == []
        engine.dispose()


def test_missed_events_fire_once_in_order_after_a_restart(tmp_path: Path) -> None:
    with scratch_database_url(tmp_path) as url:
        with start_service(tmp_path, FAST_RULES, database_url=url) as env:
            run(env, "users", "add", "ann", "--role", "agent", "--password", "correct horse battery")
            token = run(env, "tokens", "create", "--user", "ann").stdout.strip()
            secret = (Path(env["WEBCARE_VAR_DIR"]) / "secrets" / "TEST_LISTENING_SECRET").read_text().strip()
            body = json.dumps({"id": "r-1", "channel": "x", "text": "hoe laat zijn jullie open?"}).encode()
            answer = httpx.post(f"{env['base']}/webhooks/listening-tool", content=body,
                                headers={**sign_payload([secret], "msg_r1", int(time.time()), body),
                                         "content-type": "application/json"}).json()
            ref = answer["cases"][0]
            case = httpx.get(f"{env['base']}/api/v1/cases/{ref}", headers={"authorization": f"Bearer {token}"}).json()
            assert not [e for e in case["timeline"] if e["type"].startswith("sla_")]
        time.sleep(8)  # the service is down while warnings (3 s, 4.2 s) and deadlines (5 s, 7 s) pass
        with start_service(tmp_path, FAST_RULES, database_url=url) as env:
            auth = {"authorization": f"Bearer {token}"}
            deadline = time.monotonic() + 20
            while True:
                timeline = httpx.get(f"{env['base']}/api/v1/cases/{ref}", headers=auth).json()["timeline"]
                fired = [(e["type"], e["data"]["kind"]) for e in timeline if e["type"].startswith("sla_")]
                if len(fired) >= 4 or time.monotonic() > deadline:
                    break
                time.sleep(0.3)
            time.sleep(2)  # a second firing would show now
            timeline = httpx.get(f"{env['base']}/api/v1/cases/{ref}", headers=auth).json()["timeline"]
            fired = [(e["type"], e["data"]["kind"]) for e in timeline if e["type"].startswith("sla_")]
        assert fired == [("sla_warning", "first_response"), ("sla_warning", "resolution"),
                         ("sla_breached", "first_response"), ("sla_breached", "resolution")]
