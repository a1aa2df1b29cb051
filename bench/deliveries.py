"""Webhook delivery throughput on PostgreSQL: `.venv/bin/python bench/deliveries.py`.

Three timed phases, run twice (the better figure of each counts), against one local receiver
(uvicorn, in its own process, verifying every delivery's Standard Webhooks signature):
  A. plain httpx: the same signed bodies POSTed straight to the receiver at concurrency C, through one
     client (A1) and through as many small clients as the dispatcher spreads its connections over (A2);
  B. the dispatcher delivering N events from the database (claim, sign, POST, record), concurrency C;
  C. as B, while another department's endpoint never answers (each call ends at the 1 s timeout).
Targets: B >= 0.5 x A (the better of A1 and A2) and B >= 500/s; C >= 0.9 x B. A scratch database is created and dropped.
Environment: BENCH_PG_URL (default postgresql://postgres@127.0.0.1:5432/postgres), BENCH_EVENTS (1500),
BENCH_CONCURRENCY (32).
"""

# ruff: noqa: E402  (sys.path is fixed before the other imports; see below)
from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder comes first on sys.path; its sibling benchmarks (queue.py, ...) must
# not shadow the standard library.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import asyncio
import base64
import contextlib
import json
import os
import socket
import subprocess
import tempfile
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.cases.models import Case
from app.db import make_engine, make_sessionmaker, sqlalchemy_url
from app.delivery.dispatcher import CONNECTIONS_PER_POOL, Dispatcher
from app.delivery.models import DepartmentEvent
from app.delivery.outbox import emit
from app.delivery.signing import sign_payload
from app.migrate import upgrade_to_head
from app.rules import load_ruleset
from app.rules.holder import RuleSetHolder
from app.secrets import SecretStore

SECRET = "whsec_" + base64.b64encode(b"bench-secret-bench-secret-bench!").decode()
EVENTS = int(os.environ.get("BENCH_EVENTS", "1500"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "32"))
PER_CASE = 10
HANGING_EVENTS = 1000
SMALL_POOLS = -(-CONCURRENCY // CONNECTIONS_PER_POOL)


def receiver_app() -> Any:
    """ASGI app: POST /fast verifies and counts; POST /hang never answers; GET /count."""
    from standardwebhooks import Webhook

    verifier = Webhook(SECRET)
    counts = {"ok": 0, "bad": 0}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        if scope["path"] == "/hang":
            await asyncio.sleep(3600)
        if scope["method"] == "GET":
            answer, status = json.dumps(counts).encode(), 200
        else:
            headers = {k.decode(): v.decode() for k, v in scope["headers"]}
            try:
                verifier.verify(body, headers)
                counts["ok"] += 1
                answer, status = b"ok", 200
            except Exception:
                counts["bad"] += 1
                answer, status = b"bad signature", 400
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-length", str(len(answer)).encode())]})
        await send({"type": "http.response.body", "body": answer})

    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_rules(directory: Path, base: str) -> Path:
    (directory / "departments.yaml").write_text(
        "defaults: {department: webcare, category: general, priority: P3, sla_policy: standard}\n"
        "departments:\n"
        "  - {id: webcare, name: Webcare, calendar: always}\n"
        f"  - {{id: fast, name: Fast, calendar: always, webhook: {{url: '{base}/fast', secret_env: BENCH_SECRET}}}}\n"
        f"  - {{id: dead, name: Dead, calendar: always, webhook: {{url: '{base}/hang', secret_env: BENCH_SECRET}}}}\n")
    (directory / "sla.yaml").write_text(
        "calendars:\n  always: {timezone: Europe/Amsterdam, hours: 24/7}\npolicies:\n  standard:\n"
        "    first_response: {P1: 15m, P2: 30m, P3: 1h, P4: 4h}\n    next_response: {P1: 30m, P2: 1h, P3: 2h, P4: 8h}\n"
        "    department_ack: {P1: 30m, P2: 2h, P3: 4h, P4: 1d}\n    resolution: {P1: 4h, P2: 1d, P3: 2d, P4: 5d}\n"
        "    warn_at: 75%\n")
    (directory / "connectors.yaml").write_text("connectors: []\n")
    return directory


def add_events(sessions: Any, ruleset: Any, department: str, count: int) -> list[int]:
    now = datetime.now(UTC)
    ids: list[int] = []
    with sessions() as session, session.begin():
        cases = []
        for _ in range(max(1, count // PER_CASE)):
            case = Case(status="pending_department", department=department, category="general", priority="P3",
                        sla_policy="standard", channel="x", connector="bench", author={"handle": "@bench"},
                        routing={"ruleset_version": ruleset.version, "rule_ids": [], "deciding_rule": None,
                                 "spans": []}, ruleset_version=ruleset.version, created_at=now, updated_at=now,
                        last_mention_at=now)
            session.add(case)
            cases.append(case)
        session.flush()
        rows = []
        for n in range(count):
            rows += emit(session, cases[n % len(cases)], type="case.updated", now=now, ruleset=ruleset)
        session.flush()
        ids = [row.id for row in rows]
    return ids


async def receiver_count(client: httpx.AsyncClient, base: str) -> int:
    return int((await client.get(f"{base}/count")).json()["ok"])


async def plain_posts(base: str, bodies: list[bytes], *, pools: int) -> float:
    """Phase A: the same bodies, signed, straight to the receiver at the same concurrency, through
    one client (A1, as one would write it) or through as many small clients as the dispatcher uses
    (A2, the same connection handling without the database)."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=-(-CONCURRENCY // pools))
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(httpx.AsyncClient(limits=limits, timeout=10)) for _ in range(pools)]

        async def worker(client: httpx.AsyncClient) -> None:
            while not queue.empty():
                body = queue.get_nowait()
                headers = sign_payload([SECRET], f"msg_{uuid.uuid4().hex}", int(time.time()), body)
                headers["content-type"] = "application/json"
                response = await client.post(f"{base}/fast", content=body, headers=headers)
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(worker(clients[i % pools]) for i in range(CONCURRENCY)))
        return len(bodies) / (time.perf_counter() - started)


async def dispatched(dispatcher: Dispatcher, base: str, expect: int) -> float:
    """Phases B and C: run the dispatcher until the receiver has `expect` more verified deliveries."""
    async with httpx.AsyncClient() as probe:
        before = await receiver_count(probe, base)
        stop = asyncio.Event()
        started = time.perf_counter()
        runner = asyncio.create_task(dispatcher.run_forever(stop))
        while (done := await receiver_count(probe, base) - before) < expect:
            if time.perf_counter() - started > 90:
                raise SystemExit(f"only {done} of {expect} delivered in 90 s")
            await asyncio.sleep(0.05)
        rate = expect / (time.perf_counter() - started)
        stop.set()
        await runner
    return rate


def main() -> None:
    admin_url = sqlalchemy_url(os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    name = f"webcare_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    receiver = subprocess.Popen([sys.executable, __file__, "--receiver", str(port)], cwd=REPO)
    engine = make_engine(make_url(admin_url).set(database=name).render_as_string(hide_password=False))
    try:
        upgrade_to_head(engine)
        sessions = make_sessionmaker(engine)
        with tempfile.TemporaryDirectory() as folder:
            rules = RuleSetHolder(Path(folder), load_ruleset(write_rules(Path(folder), base)))
            secrets = SecretStore(production=True, var_dir=Path(folder), environ={"BENCH_SECRET": SECRET})
            for _ in range(300):
                try:
                    httpx.get(f"{base}/count", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            ids = add_events(sessions, rules.current, "fast", EVENTS)
            with sessions() as session:
                bodies = [json.dumps(b, separators=(",", ":"), ensure_ascii=False).encode() for b in session.scalars(
                    select(DepartmentEvent.body).where(DepartmentEvent.id.in_(ids)).order_by(DepartmentEvent.id))]

            def make(worker: str) -> Dispatcher:
                return Dispatcher(sessions, rules, secrets, worker_id=worker, concurrency=CONCURRENCY, batch_size=50,
                                  timeout=1.0, lease_seconds=30, idle_seconds=0.05)

            # Two rounds of A, B, C: the machine is shared, so each figure is the better of its two.
            results: dict[str, list[float]] = {"A1": [], "A2": [], "B": [], "C": []}
            for round_ in (1, 2):
                if round_ == 2:
                    add_events(sessions, rules.current, "fast", EVENTS)
                results["A1"].append(asyncio.run(plain_posts(base, bodies, pools=1)))
                results["A2"].append(asyncio.run(plain_posts(base, bodies, pools=SMALL_POOLS)))
                results["B"].append(asyncio.run(dispatched(make(f"bench-b{round_}"), base, EVENTS)))
                if round_ == 1:
                    add_events(sessions, rules.current, "dead", HANGING_EVENTS)
                add_events(sessions, rules.current, "fast", EVENTS)
                results["C"].append(asyncio.run(dispatched(make(f"bench-c{round_}"), base, EVENTS)))
                print(f"round {round_}: " + ", ".join(f"{k} {v[-1]:.0f}/s" for k, v in results.items()),
                      file=sys.stderr, flush=True)
            one_pool, small_pools, alone, beside_dead = (max(results[k]) for k in ("A1", "A2", "B", "C"))
            plain = max(one_pool, small_pools)
    finally:
        receiver.kill()  # not terminate: uvicorn would wait for the hanging requests to finish
        receiver.wait(timeout=10)
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    print(f"events per phase: {EVENTS}, best of 2 rounds, concurrency: {CONCURRENCY}, {os.cpu_count()} CPUs")
    print(f"A1 plain httpx POSTs, one client:      {one_pool:8.0f}/s")
    print(f"A2 plain httpx POSTs, {SMALL_POOLS} clients:       {small_pools:8.0f}/s   (A = the better of A1, A2)")
    print(f"B dispatcher (PostgreSQL):             {alone:8.0f}/s   B/A = {alone / plain:.2f}  (target >= 0.50, "
          f">= 500/s)")
    print(f"C dispatcher beside a dead endpoint:   {beside_dead:8.0f}/s   C/B = {beside_dead / alone:.2f}  "
          "(target >= 0.90)")
    ok = alone >= 0.5 * plain and alone >= 500 and beside_dead >= 0.9 * alone
    print("targets met" if ok else "TARGETS MISSED")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--receiver"]:
        import uvicorn

        uvicorn.run(receiver_app(), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False)
    else:
        main()
