"""The agents' queue page on PostgreSQL: `.venv/bin/python bench/queue_page.py`.

Loads 1,000,000 cases (one mention each) of which 20,000 are not closed into a scratch database,
starts `webcare serve` on it, logs in a UI session and times over loopback HTTP:
  - a bare endpoint (`/healthz`) — the floor of the HTTP stack, measured in the same run;
  - the queue page (`/ui/`, full HTML with per-filter counts) over 200 requests cycling through mixed
    filters (mine, unassigned, department, status, channel, priority, warned/breached, combinations,
    a search within a status);
  - the same mix while another connection commits a change to a random open case before each request;
  - separately, a search over every status (closed cases included), which has no text index.
Reports p50/p95 in milliseconds; target: queue p95 < 50 ms. The scratch database is dropped afterwards.
Environment: BENCH_PG_URL (default postgresql://postgres@127.0.0.1:5432/postgres), BENCH_CASES (1000000),
BENCH_OPEN_EVERY (50: one case in 50 is not closed), BENCH_REQUESTS (200), BENCH_KEEP_DB (a database name:
loaded on the first run, kept and reused by later runs, for measuring one change after another).
"""

from __future__ import annotations

import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from app.audit import SYSTEM
from app.auth.models import User
from app.auth.service import add_user
from app.db import make_engine, make_sessionmaker, sqlalchemy_url, transaction
from app.kernel.clock import utc_now
from app.migrate import upgrade_to_head
from app.ui.sessions import SESSION_COOKIE, start_session

REPO = Path(__file__).resolve().parents[1]
ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CASES = int(os.environ.get("BENCH_CASES", "1000000"))
OPEN_EVERY = int(os.environ.get("BENCH_OPEN_EVERY", "50"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "200"))
USERS = 50

FILTERS = [
    "", "assignee=me", "assignee=none", "department=billing", "department=network", "status=open",
    "status=pending_department", "status=resolved", "channel=facebook", "priority=P1", "priority=P2",
    "sla=warned", "sla=breached", "department=billing&priority=P2", "status=open&assignee=none",
    "channel=whatsapp&assignee=me", "status=open&q=storing", "department=sales&status=pending_customer",
]

LOAD_CASES = """
INSERT INTO cases (id, status, department, category, priority, sla_policy, assignee_id, channel, connector, author,
                   author_key, routing, ruleset_version, created_at, updated_at, last_mention_at, due_at)
SELECT g,
       CASE WHEN g % :every = 0
            THEN (ARRAY['open','pending_department','pending_customer','resolved'])[1 + (g / :every) % 4]
            ELSE 'closed' END,
       (ARRAY['webcare','network','billing','sales','privacy','communications'])[1 + g % 6],
       'general', (ARRAY['P1','P2','P3','P3','P4'])[1 + (g / 7) % 5], 'standard',
       CASE WHEN g % 3 = 0 THEN NULL ELSE 1 + g % :users END,
       (ARRAY['x','facebook','instagram','messenger','whatsapp','telegram'])[1 + (g / 11) % 6], 'listening-tool',
       jsonb_build_object('handle', '@user' || (g % 100000)), 'handle:@user' || (g % 100000),
       '{"ruleset_version": "rs-bench", "rule_ids": [], "deciding_rule": null, "spans": []}'::jsonb, 'rs-bench',
       now() - (:n - g) * interval '20 seconds', now() - (:n - g) * interval '20 seconds',
       now() - (:n - g) * interval '20 seconds',
       CASE WHEN g % :every = 0 AND (g / :every) % 4 IN (0, 1)
            THEN now() + ((g::bigint * 7919) % 36000 - 3600) * interval '1 second' END
FROM generate_series(1, :n) AS g
"""
# One running resolution timer per case with a deadline; its state follows the deadline, as the sweeper keeps it.
LOAD_TIMERS = """
INSERT INTO sla_timers (case_id, kind, department, calendar, policy, priority, active, state, started_at,
                        budget_seconds, elapsed_seconds, run_from, due_at, warn_at, escalations_done)
SELECT id, 'resolution', department, 'always', 'standard', priority, true,
       CASE WHEN due_at < now() THEN 'breached' WHEN due_at < now() + interval '30 minutes' THEN 'warned'
            ELSE 'running' END,
       created_at, 86400, 0, created_at, due_at, due_at - interval '30 minutes', 0
FROM cases WHERE due_at IS NOT NULL
"""
SUMMARISE = """
UPDATE cases SET sla_state = t.state FROM sla_timers t WHERE t.case_id = cases.id
"""
LOAD_MENTIONS = """
INSERT INTO mentions (case_id, connector, external_id, channel, text, is_private, author_handle, attachments, raw,
                      decision, received_at)
SELECT id, 'listening-tool', 'bench-' || id, channel,
       'Bericht ' || id || ' over ' || (ARRAY['een storing','mijn factuur','de modem','het abonnement'])[1 + id % 4],
       false, author->>'handle', '[]'::jsonb, '{}'::jsonb, '{}'::jsonb, created_at
FROM cases
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, round(0.95 * len(ordered)) - 1)]


def load(url: str) -> str:
    """Schema, data and one UI session; returns the session cookie."""
    engine = make_engine(url)
    upgrade_to_head(engine)
    started = time.monotonic()
    with transaction(make_sessionmaker(engine)) as session:
        users = [add_user(session, username=f"agent{i}", role="agent", password=None, now=utc_now(), actor=SYSTEM)
                 for i in range(1, USERS + 1)]
        session.flush()
        first_user = users[0].id
    with engine.begin() as connection:
        connection.execute(text(LOAD_CASES), {"n": CASES, "every": OPEN_EVERY, "users": USERS})
        connection.execute(text("SELECT setval(pg_get_serial_sequence('cases', 'id'), :n)"), {"n": CASES})
        connection.execute(text(LOAD_MENTIONS))
        connection.execute(text(LOAD_TIMERS))
        connection.execute(text(SUMMARISE))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE cases"))
        connection.execute(text("VACUUM ANALYZE mentions"))
        connection.execute(text("VACUUM ANALYZE sla_timers"))
    with engine.connect() as connection:
        not_closed = connection.scalar(text("SELECT count(*) FROM cases WHERE status <> 'closed'"))
    print(f"loaded {CASES:,} cases ({not_closed:,} not closed) and their mentions in "
          f"{time.monotonic() - started:.0f} s", flush=True)
    with transaction(make_sessionmaker(engine)) as session:
        cookie = start_session(session, session.get_one(User, first_user), now=utc_now())
    engine.dispose()
    return cookie


def reuse(url: str) -> str:
    """A kept database: bring its schema up to date and log in again; returns the session cookie."""
    engine = make_engine(url)
    upgrade_to_head(engine)
    with transaction(make_sessionmaker(engine)) as session:
        user = session.scalars(select(User).where(User.username == "agent1")).one()
        cookie = start_session(session, user, now=utc_now())
    engine.dispose()
    return cookie


def timed(client: httpx.Client, path: str) -> float:
    started = time.perf_counter()
    response = client.get(path)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return elapsed


def timed_while_changing(client: httpx.Client, url: str) -> list[float]:
    """The queue page as above, but before each request another connection commits a change to a
    random not-closed case (its priority and deadline, with the case event every change writes),
    as agents and departments do all day: the page then also pays for catching up with it."""
    engine = create_engine(sqlalchemy_url(url))
    rng = random.Random(7)
    samples = []
    try:
        with engine.connect() as connection:
            open_ids = list(connection.scalars(text("SELECT id FROM cases WHERE status <> 'closed'")))
        for i in range(REQUESTS):
            case_id = rng.choice(open_ids)
            with engine.begin() as connection:
                connection.execute(text(CHANGE_CASE), {"id": case_id, "p": f"P{1 + i % 4}",
                                                       "s": rng.randrange(-3600, 36000)})
                connection.execute(text(CHANGE_EVENT), {"id": case_id})
            samples.append(timed(client, f"/ui/?{FILTERS[i % len(FILTERS)]}"))
    finally:
        engine.dispose()
    return samples


CHANGE_CASE = """UPDATE cases SET priority = :p, due_at = now() + :s * interval '1 second', updated_at = now()
WHERE id = :id"""
CHANGE_EVENT = """INSERT INTO case_events (case_id, type, actor_type, actor, at, data)
VALUES (:id, 'priority_changed', 'system', 'bench', now(), '{}')"""


def main() -> None:
    kept = os.environ.get("BENCH_KEEP_DB")
    name = kept or f"webcare_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(sqlalchemy_url(ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(sqlalchemy_url(ADMIN_URL)).set(database=name).render_as_string(hide_password=False)
    process = None
    try:
        cookie = load(url) if not exists else reuse(url)
        port = free_port()
        var_dir = tempfile.mkdtemp(prefix="bench-queue-")
        env = {**os.environ, "WEBCARE_DATABASE_URL": url, "WEBCARE_VAR_DIR": var_dir, "WEBCARE_PORT": str(port),
               "WEBCARE_RULES_DIR": str(REPO / "routing_rules"), "WEBCARE_WORKERS_ENABLED": "false",
               "WEBCARE_LOG_LEVEL": "WARNING", "WEBCARE_LOG_FORMAT": "text"}
        process = subprocess.Popen([sys.executable, "-m", "app", "serve"], env=env, cwd=REPO,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, cookies={SESSION_COOKIE: cookie}, timeout=30) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("the service did not start")
                time.sleep(0.2)
            for query in FILTERS * 2:  # warm up caches and connections
                timed(client, f"/ui/?{query}")
            bare = [timed(client, "/healthz") for _ in range(REQUESTS)]
            queue = [timed(client, f"/ui/?{FILTERS[i % len(FILTERS)]}") for i in range(REQUESTS)]
            changing = timed_while_changing(client, url)
            search_all = [timed(client, "/ui/?q=abonnement") for _ in range(20)]
        for label, samples in (("bare /healthz", bare), ("queue page, mixed filters, counts included", queue),
                               ("the same, a case changed before each request", changing),
                               ("search over all statuses (q=abonnement)", search_all)):
            p50, p95 = percentiles(samples)
            print(f"{label:48s} n={len(samples):3d}  p50 {p50:7.1f} ms  p95 {p95:7.1f} ms", flush=True)
        for i, query in enumerate(FILTERS):
            mine = queue[i::len(FILTERS)]
            print(f"    {query or '(default: active)':44s} median {statistics.median(mine):7.1f} ms", flush=True)
        p95 = percentiles(queue)[1]
        print(f"target queue p95 < 50 ms: {'met' if p95 < 50 else 'NOT met'}")
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=20)
        if not kept:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
