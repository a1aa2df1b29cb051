"""What counting rule hits costs ingest: `.venv/bin/python bench/rule_hits.py` (PostgreSQL).

Mentions are ingested the way the webhook route does it (`ingest_mentions` in one transaction per
delivery of one mention, each by an author of its own so each opens a case) with this repository's
`routing_rules/`, from BENCH_THREADS (8) threads at once, in three ways, interleaved over
BENCH_ROUNDS (3) rounds of BENCH_MENTIONS (400) mentions each:
  - none: no counting (the baseline);
  - memory: what the service does: `HitCounter.add` after the commit, and the rules thread's flush
    (one upsert of all rules hit) every 2 s in a transaction of its own;
  - in-transaction: one upsert of the delivery's counts inside the ingest transaction (exact, but
    the counter rows stay locked until the commit, so concurrent deliveries hitting the same rule
    wait for each other).
Printed per way: mentions/s (best round) and its ratio to the baseline of the same run.
Environment: BENCH_PG_URL (default postgresql://postgres@127.0.0.1:5432/postgres).
"""

# ruff: noqa: E402  (sys.path is fixed before the other imports; see below)
from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import app.case_handlers  # noqa: F401  (registers what every case change does)
from app.db import make_engine, make_sessionmaker, sqlalchemy_url, transaction
from app.ingest.service import ingest_mentions
from app.ingest.standard import ParsedItem
from app.kernel.clock import utc_now
from app.mentions.model import Author, Mention
from app.migrate import upgrade_to_head
from app.rules import load_ruleset
from app.rules.hits import HitCounter, count_hits, flush_hits

RULES = Path(__file__).resolve().parents[1] / "routing_rules"
ADMIN = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
THREADS = int(os.environ.get("BENCH_THREADS", "8"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
MENTIONS = int(os.environ.get("BENCH_MENTIONS", "400"))
TEXTS = ["Al 3 uur STORING in Utrecht, geen internet!!", "Mijn factuur klopt niet, dubbel afgeschreven",
         "Ik wil mijn abonnement opzeggen", "Top service, dank jullie wel", "Wanneer komt mijn nieuwe modem?",
         "no internet since this morning, terrible", "Hallo, een vraag over mijn rekening"]


def main() -> None:
    name = f"webcare_bench_hits_{uuid.uuid4().hex[:8]}"
    admin = create_engine(sqlalchemy_url(ADMIN), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(sqlalchemy_url(ADMIN)).set(database=name).render_as_string(hide_password=False)
        engine = make_engine(url)
        upgrade_to_head(engine)
        sessions = make_sessionmaker(engine)
        ruleset = load_ruleset(RULES)
        counter = HitCounter()

        def deliver(i: int, way: str) -> None:
            mention = Mention(external_id=uuid.uuid4().hex, channel="x", text=TEXTS[i % len(TEXTS)],
                              author=Author(id=uuid.uuid4().hex))
            with transaction(sessions) as session:
                result = ingest_mentions(session, ruleset=ruleset, connector="listening-tool",
                                         items=[ParsedItem(mention, {})], received_at=utc_now())
                if way == "in-transaction":
                    flush_hits(session, count_hits(result.decisions), now=utc_now())
            if way == "memory":
                counter.add(result.decisions)

        def run(way: str) -> float:
            stop = threading.Event()

            def flusher() -> None:  # the rules thread's part
                while not stop.wait(2.0):
                    with transaction(sessions) as session:
                        flush_hits(session, counter.take(), now=utc_now())

            background = threading.Thread(target=flusher, daemon=True)
            if way == "memory":
                background.start()
            started = time.perf_counter()
            with ThreadPoolExecutor(THREADS) as pool:
                list(pool.map(lambda i: deliver(i, way), range(MENTIONS)))
            elapsed = time.perf_counter() - started
            stop.set()
            if way == "memory":
                background.join()
            return MENTIONS / elapsed

        for i in range(50):  # warm-up
            deliver(i, "none")
        best: dict[str, float] = {}
        for round_no in range(ROUNDS):
            for way in ("none", "memory", "in-transaction"):
                rate = run(way)
                best[way] = max(best.get(way, 0.0), rate)
                print(f"round {round_no + 1} {way:<15} {rate:7.1f} mentions/s", flush=True)
        for way, rate in best.items():
            print(f"best {way:<15} {rate:7.1f} mentions/s  ({rate / best['none']:.2f} of none)")
        engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
