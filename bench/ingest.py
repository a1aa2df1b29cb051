"""Ingest throughput of the real service: `.venv/bin/python bench/ingest.py`.

Servers started the same way (uvicorn, in a process of their own, on loopback) and loaded in the
same run by the same generator, one after the other:
  - bare: a FastAPI endpoint that verifies the same signature and parses the same bodies with the
    `standard` parser, and stores nothing (the floor the web stack and the parsing set);
  - service: `webcare serve` on a fresh PostgreSQL database with this repository's `routing_rules/`
    (workers off, so the figure is ingest alone; the dispatcher has `bench/deliveries.py`);
  - sqlite: the same `webcare serve` on its embedded SQLite file (single phase only).
Two phases each, every mention new (its own author, so every mention opens a case):
  - single: signed one-mention bodies from BENCH_CONNECTIONS (32) connections;
  - batch: signed bodies of 100 mentions from BENCH_BATCH_CONNECTIONS (4) connections.
Each phase sends at most its request count and stops sending after BENCH_SECONDS (60), whichever
comes first. Then the raw floor: every row the PostgreSQL service wrote in the run (mentions, cases,
owners, timers, case events, outbox rows, tags, ...: read back from its database after it stopped,
so it is exactly what ingest writes on this checkout) is written again into a second fresh database
at the same schema head, with multi-row INSERTs of up to 1,000 rows from one connection (parents
before children, one commit per statement); its rate is the service's mentions over that time.
Printed: mentions/s, p50/p99 latency per request, and the ratios against the targets of issue 17.
Environment: BENCH_PG_URL (default postgresql://postgres@127.0.0.1:5432/postgres), BENCH_REQUESTS
(3000 single requests), BENCH_BATCHES (40), BENCH_SQLITE (1; 0 skips the SQLite run), BENCH_PROFILE
(a path: runs `py-spy record --gil` on the PostgreSQL service during its single phase and writes the
flame graph there; a path ending in .txt gets py-spy's collapsed stacks instead). Scratch databases
are created and dropped.
"""

# ruff: noqa: E402  (sys.path is fixed before the other imports; see below)
from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder comes first on sys.path; its sibling benchmarks must not shadow the
# standard library.
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
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.db import make_engine, sqlalchemy_url
from app.delivery.signing import sign_payload
from app.migrate import upgrade_to_head

SECRET = "whsec_" + base64.b64encode(b"bench-ingest-secret-bench-ingest").decode()
CONNECTOR = "listening-tool"
SECRET_ENV = "LISTENING_WEBHOOK_SECRET"
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
BATCH_CONNECTIONS = int(os.environ.get("BENCH_BATCH_CONNECTIONS", "4"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "3000"))
BATCHES = int(os.environ.get("BENCH_BATCHES", "40"))
BATCH_SIZE = 100
SECONDS = float(os.environ.get("BENCH_SECONDS", "60"))
SQLITE = os.environ.get("BENCH_SQLITE", "1") != "0"
PROFILE = os.environ.get("BENCH_PROFILE")
FLOOR_ROWS_PER_STATEMENT = 1000
PG_PARAMETER_LIMIT = 65535
TEXTS = (
    "Al 3 uur STORING, geen internet!! Postcode 1012AB",
    "Mijn factuur is veel te hoog deze maand, wie kan me helpen?",
    "Why was I charged twice for my subscription?",
    "Thanks for the quick help yesterday!",
    "Ik wil mijn abonnement opzeggen, hoe doe ik dat?",
    "Mobiel internet doet het niet in Utrecht sinds vanmorgen",
    "Waar blijft mijn nieuwe modem? Bestelling 44821",
    "Iemand heeft mijn gegevens gelekt?? Ik kreeg een rare mail",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def mentions(prefix: str) -> Iterator[dict[str, Any]]:
    """New mentions, each by an author of its own (so each opens a case)."""
    n = 0
    while True:
        n += 1
        yield {"id": f"{prefix}-{n}", "channel": "x", "text": TEXTS[n % len(TEXTS)],
               "author": {"handle": f"@{prefix}{n}", "followers": n % 5000},
               "created_at": "2026-03-02T09:15:00Z"}


def bare_app() -> Any:
    """The floor: verify the signature and parse the body with the `standard` parser, store nothing."""
    from app.delivery.signing import verify_payload
    from app.ingest.standard import parse_standard_body

    app = FastAPI()

    @app.post("/webhooks/{connector}")
    async def receive(connector: str, request: Request) -> JSONResponse:
        body = await request.body()
        verify_payload([SECRET], {k.lower(): v for k, v in request.headers.items()}, body, now=int(time.time()))
        items = parse_standard_body(body)
        return JSONResponse({"accepted": len(items), "duplicates": 0, "cases": []})

    @app.get("/healthz")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


@dataclass
class Phase:
    """What one phase measured."""

    mentions: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.mentions / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


async def load(base: str, bodies: Iterator[bytes], *, requests: int, connections: int, per_body: int) -> Phase:
    """POST at most `requests` signed bodies from `connections` connections, stopping after SECONDS."""
    latencies: list[float] = []
    sent = 0
    deadline = time.perf_counter() + SECONDS
    async with contextlib.AsyncExitStack() as stack:
        # A client per connection: one shared pool re-checks every connection per request (see the
        # delivery section of bench/README.md), which would make the generator the bottleneck.
        clients = [await stack.enter_async_context(httpx.AsyncClient(timeout=60)) for _ in range(connections)]

        async def worker(client: httpx.AsyncClient) -> None:
            nonlocal sent
            while sent < requests and time.perf_counter() < deadline:
                sent += 1
                body = next(bodies)
                headers = sign_payload([SECRET], f"msg_{uuid.uuid4().hex}", int(time.time()), body)
                headers["content-type"] = "application/json"
                started = time.perf_counter()
                response = await client.post(f"{base}/webhooks/{CONNECTOR}", content=body, headers=headers)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200 or response.json()["accepted"] != per_body:
                    raise SystemExit(f"{base}: {response.status_code} {response.text[:300]}")

        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for client in clients))
        elapsed = time.perf_counter() - started
    return Phase(len(latencies) * per_body, elapsed, latencies)


def single_bodies(prefix: str) -> Iterator[bytes]:
    for mention in mentions(prefix):
        yield json.dumps(mention).encode()


def batch_bodies(prefix: str) -> Iterator[bytes]:
    source = mentions(prefix)
    while True:
        yield json.dumps({"mentions": [next(source) for _ in range(BATCH_SIZE)]}).encode()


def wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if process.poll() is not None:
            raise SystemExit(f"{base} exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{base} did not start in 60 s")


def run_phases(base: str, tag: str, *, batch: bool = True, profile_pid: int | None = None) -> dict[str, Phase]:
    """Warm up (50 requests, not counted), then the single phase (under py-spy when `profile_pid` is
    given and BENCH_PROFILE is set) and, unless `batch` is false, the batch phase."""
    run = uuid.uuid4().hex[:6]
    asyncio.run(load(base, single_bodies(f"{tag}w{run}"), requests=50, connections=CONNECTIONS, per_body=1))
    with profiled(profile_pid):
        results = {"single": asyncio.run(load(base, single_bodies(f"{tag}s{run}"), requests=REQUESTS,
                                              connections=CONNECTIONS, per_body=1))}
    if batch:
        results["batch"] = asyncio.run(load(base, batch_bodies(f"{tag}b{run}"), requests=BATCHES,
                                            connections=BATCH_CONNECTIONS, per_body=BATCH_SIZE))
    return results


@contextlib.contextmanager
def profiled(pid: int | None) -> Iterator[None]:
    """py-spy (from this venv: `pip install py-spy`) sampling `pid` with --gil while the block runs."""
    if pid is None or not PROFILE:
        yield
        return
    spy = subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record", "--gil", "--idle", "--nonblocking",
                            "--subprocesses", "-r", "50", "-o", PROFILE,
                            "--format", "raw" if PROFILE.endswith(".txt") else "flamegraph", "--pid", str(pid)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        spy.send_signal(2)  # SIGINT: py-spy writes its output and exits
        spy.wait(timeout=120)


@dataclass
class Floor:
    """The raw floor: the rows the service wrote, written again by plain multi-row INSERTs."""

    mentions: int
    seconds: float
    rows: dict[str, int]

    @property
    def rate(self) -> float:
        return self.mentions / self.seconds


def raw_floor(source_url: str, target_url: str) -> Floor:
    """Copy every row of `source_url` (the stopped service's database) into `target_url` (fresh,
    migrated to the same head) with multi-row INSERTs from one connection, timing the writes only.

    Values travel as text and are cast to each column's own type by the server, so no Python-side
    conversion is timed beyond building the parameters; tables the migrations already fill, and
    `alembic_version`, are left out."""
    import psycopg

    target_engine = make_engine(target_url)
    upgrade_to_head(target_engine)
    target_engine.dispose()
    source_dsn = make_url(source_url).set(drivername="postgresql").render_as_string(hide_password=False)
    target_dsn = make_url(target_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(source_dsn) as source, psycopg.connect(target_dsn) as target:
        order = [row[0] for row in target.execute(TABLES_PARENTS_FIRST)]
        columns: dict[str, list[tuple[str, str]]] = {}
        for table, column, type_ in target.execute(COLUMN_TYPES):
            columns.setdefault(table, []).append((column, type_))
        statements: list[tuple[str, list[tuple[str | None, ...]]]] = []
        rows: dict[str, int] = {}
        for table in order:
            if table == "alembic_version" or target.execute(f'SELECT 1 FROM "{table}" LIMIT 1').fetchone():
                continue
            names = columns[table]
            data = source.execute(
                f'SELECT {", ".join(f"{quoted(c)}::text" for c, _ in names)} FROM "{table}"').fetchall()
            if not data:
                continue
            rows[table] = len(data)
            per_statement = min(FLOOR_ROWS_PER_STATEMENT, PG_PARAMETER_LIMIT // len(names))
            row_sql = "(" + ", ".join(f"%s::{t}" for _, t in names) + ")"
            head = f'INSERT INTO "{table}" ({", ".join(quoted(c) for c, _ in names)}) OVERRIDING SYSTEM VALUE VALUES '
            for start in range(0, len(data), per_statement):
                chunk = data[start:start + per_statement]
                statements.append((head + ", ".join([row_sql] * len(chunk)),
                                   [value for row in chunk for value in row]))
        mentions = rows.get("mentions", 0)
        target.commit()
        started = time.perf_counter()
        for sql, params in statements:
            target.execute(sql, params)
            target.commit()
        elapsed = time.perf_counter() - started
    return Floor(mentions, elapsed, rows)


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# The public tables in an order where every table comes after the tables its foreign keys point to.
TABLES_PARENTS_FIRST = """
WITH RECURSIVE tables AS (
    SELECT c.oid, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
), depth(oid, level) AS (
    SELECT oid, 0 FROM tables
    UNION ALL
    SELECT con.conrelid, d.level + 1 FROM pg_constraint con JOIN depth d ON con.confrelid = d.oid
    WHERE con.contype = 'f' AND con.conrelid <> con.confrelid AND d.level < 50
)
SELECT t.relname FROM tables t JOIN depth d ON d.oid = t.oid GROUP BY t.relname ORDER BY max(d.level), t.relname
"""
COLUMN_TYPES = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
  AND a.attgenerated = ''
ORDER BY c.relname, a.attnum
"""


def start(argv: list[str], environ: dict[str, str], base: str,
          processes: list[subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(argv, cwd=REPO, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    processes.append(process)
    wait_ready(base, process)
    return process


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
    processes.clear()


def main() -> None:
    admin_url = sqlalchemy_url(os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    names = [f"webcare_bench_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for name in names:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    database_url, floor_url = (make_url(admin_url).set(database=name).render_as_string(hide_password=False)
                               for name in names)
    processes: list[subprocess.Popen[bytes]] = []
    results: dict[str, dict[str, Phase]] = {}
    webcare = str(Path(sys.executable).with_name("webcare"))
    try:
        with tempfile.TemporaryDirectory() as var_dir, tempfile.TemporaryDirectory() as sqlite_dir:
            # One server at a time, so each gets the machine the others would otherwise share.
            port = free_port()
            start([sys.executable, __file__, "--bare", str(port)], dict(os.environ), f"http://127.0.0.1:{port}",
                  processes)
            results["bare"] = run_phases(f"http://127.0.0.1:{port}", "bare")
            stop(processes)
            environ = {**os.environ, "WEBCARE_DATABASE_URL": database_url, "WEBCARE_VAR_DIR": var_dir,
                       "WEBCARE_RULES_DIR": str(REPO / "routing_rules"), "WEBCARE_WORKERS_ENABLED": "false",
                       "WEBCARE_ENV": "development", SECRET_ENV: SECRET}
            port = free_port()
            service = start([webcare, "serve", "--port", str(port)], environ, f"http://127.0.0.1:{port}", processes)
            results["service"] = run_phases(f"http://127.0.0.1:{port}", "svc", profile_pid=service.pid)
            stop(processes)
            floor = raw_floor(database_url, floor_url)
            if SQLITE:
                environ = {**environ, "WEBCARE_VAR_DIR": sqlite_dir}
                del environ["WEBCARE_DATABASE_URL"]  # the default: a SQLite file under the var dir
                port = free_port()
                start([webcare, "serve", "--port", str(port)], environ, f"http://127.0.0.1:{port}", processes)
                results["sqlite"] = run_phases(f"http://127.0.0.1:{port}", "lite", batch=False)
                stop(processes)
    finally:
        stop(processes)
        with admin.connect() as connection:
            for name in names:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    report(results, floor)


def report(results: dict[str, dict[str, Phase]], floor: Floor) -> None:
    print(f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}; "
          f"single: {CONNECTIONS} connections, at most {REQUESTS} requests; batch: {BATCH_SIZE} mentions a body, "
          f"{BATCH_CONNECTIONS} connections, at most {BATCHES} requests; each phase at most {SECONDS:.0f} s")
    for phase in ("single", "batch"):
        for server in ("bare", "service", "sqlite"):
            if phase in results.get(server, {}):
                r = results[server][phase]
                print(f"{phase:6} {server:7} {r.mentions:6d} mentions {r.rate:8.0f} mentions/s  "
                      f"p50 {r.percentile(0.50):7.1f} ms  p99 {r.percentile(0.99):7.1f} ms")
    rows = sum(floor.rows.values())
    print(f"floor  raw     {floor.mentions:6d} mentions {floor.rate:8.0f} mentions/s  ({rows} rows, "
          f"{rows / max(floor.mentions, 1):.1f} a mention, {rows / floor.seconds:.0f} rows/s, "
          f"{FLOOR_ROWS_PER_STATEMENT} rows a statement, one connection)")
    print("       rows: " + ", ".join(f"{table} {count}" for table, count in floor.rows.items()))
    bare, service = results["bare"], results["service"]
    single = service["single"].rate / bare["single"].rate
    p99 = service["single"].percentile(0.99)
    print(f"single service/bare = {single:.3f} (target >= 0.25: {'met' if single >= 0.25 else 'NOT met'}); "
          f"service p99 {p99:.1f} ms (target < 100 ms: {'met' if p99 < 100 else 'NOT met'}; "
          f"bare p99 {bare['single'].percentile(0.99):.1f} ms)")
    batch = service["batch"].rate / floor.rate
    print(f"batch  service/floor = {batch:.3f} (target >= 0.5: {'met' if batch >= 0.5 else 'NOT met'}); "
          f"service/bare = {service['batch'].rate / bare['batch'].rate:.3f}")
    if "sqlite" in results:
        lite = results["sqlite"]["single"].rate / bare["single"].rate
        print(f"single sqlite/bare = {lite:.3f} (target >= 0.10: {'met' if lite >= 0.10 else 'NOT met'})")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--bare"]:
        import uvicorn

        uvicorn.run(bare_app(), host="127.0.0.1", port=int(sys.argv[2]), log_config=None, proxy_headers=True)
    else:
        main()
