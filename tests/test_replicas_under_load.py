"""The production topology with real processes on one PostgreSQL database: three `webcare serve`
replicas (workers off) and three `webcare worker` processes, mentions arriving through all three
replicas, one worker SIGKILLed mid-way and restarted. Every event reaches the department's system
(a real receiver verifying each delivery with `standardwebhooks`), in order per case, none lost;
every SLA warning and breach is recorded once.

Budget: 40 cases of two mentions each, second-long SLA deadlines; the killed worker's leases expire
after the dispatcher's 60 s lease, which bounds the run."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from app.cases.models import CaseEvent
from app.db import make_engine
from app.delivery.models import Delivery
from app.delivery.signing import sign_payload
from app.sla.models import SlaTimer
from tests.conftest import REPO
from tests.dbutil import scratch_database_url
from tests.delivery.receiver import Receiver
from tests.test_service_e2e import WEBCARE, launch_service

pytestmark = pytest.mark.slow
FAST_RULES = REPO / "tests" / "fixtures" / "routing_fast"
CASES = 40
BILLING_SECRET = "whsec_" + base64.b64encode(b"replica-billing-secret-32-bytes!").decode()
LISTENING_SECRET = "whsec_" + base64.b64encode(b"replica-listening-secret-32byte!").decode()


def post(base: str, mention: dict[str, object]) -> int:
    body = json.dumps(mention).encode()
    headers = {**sign_payload([LISTENING_SECRET], f"msg_{uuid.uuid4().hex}", int(time.time()), body),
               "content-type": "application/json"}
    return httpx.post(f"{base}/webhooks/listening-tool", content=body, headers=headers, timeout=30).status_code


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("a") as out:
        return subprocess.Popen([*WEBCARE, "worker"], env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)


def test_three_replicas_and_three_workers_with_one_killed_deliver_everything_in_order(tmp_path: Path) -> None:
    with scratch_database_url(tmp_path) as url:
        if not url.startswith("postgresql"):
            pytest.skip("several processes need PostgreSQL (the suite's PostgreSQL run covers it)")
        with Receiver({"billing": BILLING_SECRET}) as receiver:
            rules = tmp_path / "rules"
            shutil.copytree(FAST_RULES, rules)
            departments = rules / "departments.yaml"
            departments.write_text(departments.read_text().replace("http://127.0.0.1:9/hooks",
                                                                   f"{receiver.url}/billing"))
            secrets = {"TEST_BILLING_WEBHOOK_SECRET": BILLING_SECRET, "TEST_LISTENING_SECRET": LISTENING_SECRET}
            for n in range(3):
                (tmp_path / f"r{n}").mkdir()
            replicas = [launch_service(tmp_path / f"r{n}", rules, {**secrets, "WEBCARE_WORKERS_ENABLED": "false"},
                                       url) for n in range(3)]
            worker_env = {**os.environ, **secrets, "WEBCARE_DATABASE_URL": url, "WEBCARE_RULES_DIR": str(rules),
                          "WEBCARE_VAR_DIR": str(tmp_path / "var"), "WEBCARE_LOG_FORMAT": "json"}
            workers = [start_worker(worker_env, tmp_path / f"worker{n}.log") for n in range(3)]
            try:
                def conversation(n: int) -> None:
                    base = replicas[n % 3][1]["base"]
                    author = {"id": f"klant-{n}", "handle": f"@klant{n}"}
                    assert post(base, {"id": f"r-{n}-a", "channel": "x", "text": f"factuur {n} klopt niet",
                                       "author": author}) == 200
                    other = replicas[(n + 1) % 3][1]["base"]
                    assert post(other, {"id": f"r-{n}-b", "channel": "x", "text": "nog steeds geen antwoord",
                                        "author": author}) == 200

                with ThreadPoolExecutor(8) as pool:
                    futures = [pool.submit(conversation, n) for n in range(CASES)]
                    time.sleep(1.0)
                    workers[0].send_signal(signal.SIGKILL)       # mid-way, whatever it holds
                    workers[0].wait(timeout=10)
                    for future in futures:
                        future.result()
                workers[0] = start_worker(worker_env, tmp_path / "worker0-restarted.log")

                engine = make_engine(url)
                deadline = time.monotonic() + 150
                while True:  # SLA deadlines are seconds long; wait until every timer fired and all is delivered
                    time.sleep(2)
                    with engine.connect() as connection:
                        open_deliveries = connection.scalar(select(func.count()).select_from(Delivery)
                                                            .where(Delivery.status != "delivered"))
                        unfired = connection.scalar(select(func.count()).select_from(SlaTimer).where(
                            SlaTimer.active, SlaTimer.next_fire_at.is_not(None)))
                    if open_deliveries == 0 and unfired == 0:
                        break
                    assert time.monotonic() < deadline, (open_deliveries, unfired)
                with engine.connect() as connection:
                    expected = connection.execute(select(Delivery.event_id, Delivery.case_id)
                                                  .where(Delivery.department == "billing")).all()
                    warnings, breaches = (connection.scalar(select(func.count()).select_from(SlaTimer)
                                                            .where(column.is_not(None)))
                                          for column in (SlaTimer.warned_at, SlaTimer.breached_at))
                    events = dict(connection.execute(select(CaseEvent.type, func.count()).where(
                        CaseEvent.type.in_(["sla_warning", "sla_breached"])).group_by(CaseEvent.type)).all())
                engine.dispose()
            finally:
                for worker in workers:
                    worker.terminate()
                for worker in workers:
                    worker.wait(timeout=40)
                for process, _env in replicas:
                    process.terminate()
                for process, _env in replicas:
                    process.wait(timeout=40)

            received = receiver.snapshot()
            assert all(r.verified for r in received)
            assert {r.webhook_id for r in received} == {f"evt_{event_id}" for event_id, _ in expected}, \
                "every event reaches the department, none lost"
            arrivals: dict[str | None, list[int]] = defaultdict(list)
            for r in received:
                arrivals[r.case].append(int(r.webhook_id[4:]))
            # In order per case; a delivery cut off by the kill may arrive again, right after itself.
            assert all(seq == sorted(seq) for seq in arrivals.values()), arrivals
            assert len(arrivals) == CASES
            assert warnings > 0 and breaches > 0
            assert events == {"sla_warning": warnings, "sla_breached": breaches}, "every SLA event once"
