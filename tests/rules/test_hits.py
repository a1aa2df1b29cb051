"""Rule hit counters: counted per process, added to one total in the database by every process."""

from __future__ import annotations

import threading
from pathlib import Path

from app.db import make_engine, make_sessionmaker, transaction
from app.kernel.clock import utc_now
from app.migrate import upgrade_to_head
from app.rules.hits import HitCount, HitCounter, count_hits, flush_hits, read_hits
from tests.dbutil import scratch_database_url
from tests.rules.test_replay import decision


def test_counts_matched_and_decided_per_rule() -> None:
    decisions = [decision(matched=("influencer", "outage"), deciding="outage"),
                 decision(matched=("influencer",)), decision()]
    assert count_hits(decisions) == {"influencer": HitCount(2, 0), "outage": HitCount(1, 1)}


def test_a_failed_flush_gives_its_counts_back() -> None:
    counter = HitCounter()
    counter.add([decision(matched=("billing",), deciding="billing")])
    taken = counter.take()
    assert counter.take() == {}
    counter.add([decision(matched=("billing",), deciding="billing")])
    counter.restore(taken)
    assert counter.take() == {"billing": HitCount(2, 2)}


def test_processes_flushing_at_once_lose_nothing(tmp_path: Path) -> None:
    """Four writers (as four processes' rules threads) add 50 batches each over the same rules at
    the same time: the totals are exact and nobody deadlocks (rows are locked in rule-id order)."""
    with scratch_database_url(tmp_path) as url:
        engine = make_engine(url)
        upgrade_to_head(engine)
        sessions = make_sessionmaker(engine)
        start = threading.Barrier(4)
        failures: list[BaseException] = []

        def writer(order: list[str]) -> None:
            try:
                start.wait()
                for _ in range(50):
                    with transaction(sessions) as session:
                        flush_hits(session, {rule: HitCount(2, 1) for rule in order}, now=utc_now())
            except BaseException as exc:  # reported below: a thread's exception would be lost
                failures.append(exc)

        orders = [["a", "b", "c"], ["c", "b", "a"], ["b", "a", "c"], ["a", "c", "b"]]
        threads = [threading.Thread(target=writer, args=(order,)) for order in orders]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not failures, failures
        with sessions() as session:
            totals = {rule: count for rule, (count, _) in read_hits(session).items()}
        engine.dispose()
    assert totals == {rule: HitCount(400, 200) for rule in "abc"}
