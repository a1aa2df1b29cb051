"""Deliveries to a real HTTP receiver that verifies every one with `standardwebhooks`: in process
beside a hanging endpoint, and from two dispatcher processes sharing one PostgreSQL database."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from app.db import make_engine, make_sessionmaker
from app.delivery.models import Delivery, DeliveryAttempt
from app.migrate import upgrade_to_head
from app.rules import load_ruleset
from app.rules.holder import RuleSetHolder
from tests.conftest import REPO
from tests.dbutil import scratch_database_url
from tests.delivery.receiver import Receiver
from tests.delivery.support import SECRETS, add_events, dispatcher, rules_folder, secret_store, standard_hooks

pytestmark = pytest.mark.slow
RECEIVER_SECRETS = {"billing": SECRETS["TEST_DELIVERY_BILLING_SECRET"],
                    "network": SECRETS["TEST_DELIVERY_NETWORK_SECRET"]}


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[tuple[str, Engine, sessionmaker[Session]]]:
    with scratch_database_url(tmp_path) as url:
        engine = make_engine(url)
        upgrade_to_head(engine)
        try:
            yield url, engine, make_sessionmaker(engine)
        finally:
            engine.dispose()


def assert_in_order_once_and_verified(received: list, expected: dict[str, list[list[int]]]) -> None:  # type: ignore[type-arg]
    counts = Counter(r.webhook_id for r in received)
    wanted = {f"evt_{i}" for per_case in expected.values() for ids in per_case for i in ids}
    assert set(counts) == wanted, "every event arrives"
    assert all(n == 1 for n in counts.values()), [i for i, n in counts.items() if n > 1]
    assert all(r.verified for r in received)
    arrived: dict[tuple[str, str | None], list[int]] = defaultdict(list)
    for r in received:
        arrived[(r.path, r.case)].append(int(r.webhook_id[4:]))
    for department, per_case in expected.items():
        for ids in per_case:
            [sequence] = [seq for (path, _), seq in arrived.items() if path == department and seq[0] == ids[0]]
            assert sequence == ids, "per case, in order"


def test_real_receiver_beside_a_hanging_endpoint(scratch: tuple[str, Engine, sessionmaker[Session]],
                                                 tmp_path: Path) -> None:
    _, _, sessions = scratch
    with Receiver(RECEIVER_SECRETS, hang=frozenset({"network"}), hang_seconds=6) as receiver:
        folder = rules_folder(tmp_path / "rules", standard_hooks(receiver.url))
        holder = RuleSetHolder(folder, load_ruleset(folder))
        billing = add_events(sessions, holder.current, department="billing", cases=10, per_case=3)
        add_events(sessions, holder.current, department="network", cases=10, per_case=1)
        d = dispatcher(sessions, holder, secret_store(tmp_path), concurrency=4, timeout=3.0, lease_seconds=15,
                       idle_seconds=0.05)

        async def scenario() -> float:
            stop = asyncio.Event()
            started = time.monotonic()
            runner = asyncio.create_task(d.run_forever(stop))
            while len(receiver.snapshot()) < 30 and time.monotonic() - started < 15:
                await asyncio.sleep(0.02)
            took = time.monotonic() - started
            stop.set()
            await runner
            return took

        took = asyncio.run(scenario())
        received = receiver.snapshot()
    assert_in_order_once_and_verified(received, {"billing": billing})
    assert took < 2.5, "the hanging endpoint held the healthy one back (its calls end only at 3 s)"
    with sessions() as session:
        timed_out = session.scalars(select(DeliveryAttempt.error).join(Delivery)
                                    .where(Delivery.department == "network")).all()
        assert timed_out and set(timed_out) == {"timeout after 3 s"}
        assert session.scalar(select(func.count()).select_from(Delivery)
                              .where(Delivery.department == "billing", Delivery.status == "delivered")) == 30


@pytest.mark.skipif(not os.environ.get("WEBCARE_TEST_DATABASE_URL", "").startswith("postgres"),
                    reason="several processes need PostgreSQL (the suite's PostgreSQL run covers it)")
def test_two_dispatcher_processes_deliver_each_event_exactly_once(
        scratch: tuple[str, Engine, sessionmaker[Session]], tmp_path: Path) -> None:
    url, _, sessions = scratch
    with Receiver(RECEIVER_SECRETS, delay=0.002) as receiver:
        folder = rules_folder(tmp_path / "rules", standard_hooks(receiver.url))
        ruleset = load_ruleset(folder)
        env = {**os.environ, **SECRETS, "PYTHONPATH": str(REPO)}
        workers = [subprocess.Popen([sys.executable, "-m", "tests.delivery.dispatcher_process", url, str(folder),
                                     f"worker-{n}"], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
                   for n in (1, 2)]
        try:
            for worker in workers:
                assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
            expected: dict[str, list[list[int]]] = {"billing": [], "network": []}
            for _ in range(5):          # events keep arriving while both processes deliver
                for department in expected:
                    expected[department] += add_events(sessions, ruleset, department=department, cases=6,
                                                       per_case=5)
                time.sleep(0.05)
            total = sum(len(ids) for per_case in expected.values() for ids in per_case)
            assert total == 300
            deadline = time.monotonic() + 60
            while len(receiver.snapshot()) < total and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.5)              # room for a duplicate to show up, if there were one
        finally:
            for worker in workers:
                worker.terminate()
            outputs = [worker.communicate(timeout=30)[0] for worker in workers]
        received = receiver.snapshot()
    assert [w.returncode for w in workers] == [0, 0], outputs
    attempted = [json.loads(out.strip().splitlines()[-1])["attempted"] for out in outputs]
    assert_in_order_once_and_verified(received, expected)
    assert sum(attempted) == total and all(n > 0 for n in attempted), attempted
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(DeliveryAttempt)) == total
        statuses = Counter(session.scalars(select(Delivery.status)))
        assert statuses == {"delivered": total}
