"""SLA sweep benchmark (issue 4), on PostgreSQL.

With 1,000,000 running timers of which 10,000 are due (their warning), time one sweep that claims
and processes the due ones, timeline and outbox included; next to it, in the same run, the floor:
a bulk INSERT of the same number of event rows; and the same sweep with only 100,000 running
timers. Targets: sweep <= 3x floor; the 1,000,000-timer sweep <= 1.5x the 100,000-timer one.

    .venv/bin/python bench/sla_sweep.py [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import time
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

import app.case_handlers  # noqa: F401  (registers what every case change does)
from app.cases.models import CaseEvent
from app.db import make_engine, make_sessionmaker, sqlalchemy_url, transaction
from app.kernel.clock import utc_now
from app.migrate import upgrade_to_head
from app.rules import load_ruleset
from app.rules.holder import RuleSetHolder
from app.sla.sweeper import sweep_due

RULES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "routing_basic"
DUE = 10_000

POPULATE = """
INSERT INTO cases (id, status, department, category, priority, sla_policy, channel, connector, author,
                   routing, ruleset_version, created_at, updated_at, last_mention_at, due_at, sla_state)
SELECT g, 'open', 'webcare', 'general', 'P3', 'standard', 'x', 'listening-tool', '{}'::jsonb,
       '{"ruleset_version": "rs-bench", "rule_ids": [], "deciding_rule": null, "spans": []}'::jsonb,
       'rs-bench', :now, :now, :now, :now + interval '1 hour', 'running'
FROM generate_series(1, :n) AS g;
SELECT setval(pg_get_serial_sequence('cases', 'id'), :n);
INSERT INTO sla_timers (case_id, kind, department, calendar, policy, priority, active, state, started_at,
                        budget_seconds, elapsed_seconds, run_from, due_at, warn_at, escalations_done, next_fire_at)
SELECT g, 'first_response', 'webcare', 'always', 'standard', 'P3', true, 'running', s, 3600, 0, s,
       s + interval '1 hour', s + interval '45 minutes', 0, s + interval '45 minutes'
FROM (SELECT g, CASE WHEN g % :step = 0 THEN :now - interval '50 minutes' ELSE :now END AS s
      FROM generate_series(1, :n) AS g) AS t;
VACUUM ANALYZE cases; VACUUM ANALYZE sla_timers; CHECKPOINT
"""


def scratch(admin_url: str, name: str) -> str:
    admin = create_engine(sqlalchemy_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(sqlalchemy_url(admin_url)).set(database=name).render_as_string(hide_password=False)


def drop(admin_url: str, name: str) -> None:
    admin = create_engine(sqlalchemy_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def measure(admin_url: str, running: int) -> tuple[float, float, int]:
    """(sweep seconds, floor seconds, timers swept) on a fresh database with `running` timers."""
    name = f"webcare_bench_sla_{uuid.uuid4().hex[:8]}"
    url = scratch(admin_url, name)
    try:
        engine = make_engine(url)
        upgrade_to_head(engine)
        now = utc_now()
        started = time.perf_counter()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for statement in POPULATE.split(";"):
                if statement.strip():
                    connection.execute(text(statement), {"n": running, "step": running // DUE, "now": now})
        print(f"  populated {running:,} cases and timers in {time.perf_counter() - started:.1f} s")
        sessions = make_sessionmaker(engine)
        rules = RuleSetHolder(RULES, load_ruleset(RULES))

        started = time.perf_counter()
        swept = sweep_due(sessions, rules, now=now)
        sweep_seconds = time.perf_counter() - started

        rows = [{"case_id": i * (running // DUE), "type": "sla_warning", "actor_type": "system", "actor": "sla",
                 "at": now + timedelta(seconds=1), "data": {"kind": "first_response", "department": "webcare"}}
                for i in range(1, DUE + 1)]
        started = time.perf_counter()
        with transaction(sessions) as session:
            session.execute(insert(CaseEvent).values(rows))  # one multi-row INSERT: the fastest way in
        floor_seconds = time.perf_counter() - started
        engine.dispose()
        return sweep_seconds, floor_seconds, swept
    finally:
        drop(admin_url, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    print(f"SLA sweep: {DUE:,} due timers")
    small_sweep, small_floor, small_swept = measure(args.admin_url, 100_000)
    big_sweep, big_floor, big_swept = measure(args.admin_url, 1_000_000)
    assert small_swept == big_swept == DUE, (small_swept, big_swept)
    print(f"{'running timers':>16} {'sweep s':>9} {'floor s':>9} {'sweep/floor':>12}")
    print(f"{100_000:>16,} {small_sweep:>9.3f} {small_floor:>9.3f} {small_sweep / small_floor:>12.2f}")
    print(f"{1_000_000:>16,} {big_sweep:>9.3f} {big_floor:>9.3f} {big_sweep / big_floor:>12.2f}")
    print(f"1M sweep / 100k sweep: {big_sweep / small_sweep:.2f} (target <= 1.5)")
    print(f"1M sweep / floor:      {big_sweep / big_floor:.2f} (target <= 3)")


if __name__ == "__main__":
    main()
