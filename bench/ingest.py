"""Ingest throughput of the real service on PostgreSQL: `.venv/bin/python bench/ingest.py`.

Two servers, started the same way (uvicorn, in a process of their own, on loopback) and loaded in the
same run by the same generator:
  - service: `webcare serve` on a fresh PostgreSQL database with this repository's `routing_rules/`
    (workers off, so the figure is ingest alone; the dispatcher has `bench/deliveries.py`);
  - bare: a FastAPI endpoint that verifies the same signature and parses the same bodies with the
    `standard` parser, and stores nothing (the floor the web stack and the parsing set).
Two phases each, every mention new (its own author, so every mention opens a case):
  - single: signed one-mention bodies from BENCH_CONNECTIONS (32) connections;
  - batch: signed bodies of 100 mentions from BENCH_BATCH_CONNECTIONS (4) connections.
Each phase sends at most its request count and stops sending after BENCH_SECONDS (60), whichever
comes first. Printed per phase: mentions/s, p50/p99 latency per request, service/bare ratio.
Environment: BENCH_PG_URL (default postgresql://postgres@127.0.0.1:5432/postgres), BENCH_REQUESTS
(3000 single requests), BENCH_BATCHES (40). A scratch database is created and dropped.
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

from app.db import sqlalchemy_url
from app.delivery.signing import sign_payload

SECRET = "whsec_" + base64.b64encode(b"bench-ingest-secret-bench-ingest").decode()
CONNECTOR = "listening-tool"
SECRET_ENV = "LISTENING_WEBHOOK_SECRET"
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
BATCH_CONNECTIONS = int(os.environ.get("BENCH_BATCH_CONNECTIONS", "4"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "3000"))
BATCHES = int(os.environ.get("BENCH_BATCHES", "40"))
BATCH_SIZE = 100
SECONDS = float(os.environ.get("BENCH_SECONDS", "60"))
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


def run_phases(base: str, tag: str) -> dict[str, Phase]:
    """Warm up (50 requests, not counted), then the two phases."""
    run = uuid.uuid4().hex[:6]
    asyncio.run(load(base, single_bodies(f"{tag}w{run}"), requests=50, connections=CONNECTIONS, per_body=1))
    return {
        "single": asyncio.run(load(base, single_bodies(f"{tag}s{run}"), requests=REQUESTS, connections=CONNECTIONS,
                                   per_body=1)),
        "batch": asyncio.run(load(base, batch_bodies(f"{tag}b{run}"), requests=BATCHES,
                                  connections=BATCH_CONNECTIONS, per_body=BATCH_SIZE)),
    }


def main() -> None:
    admin_url = sqlalchemy_url(os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    name = f"webcare_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    database_url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    processes: list[subprocess.Popen[bytes]] = []
    results: dict[str, dict[str, Phase]] = {}
    try:
        with tempfile.TemporaryDirectory() as var_dir:
            service_port, bare_port = free_port(), free_port()
            environ = {**os.environ, "WEBCARE_DATABASE_URL": database_url, "WEBCARE_VAR_DIR": var_dir,
                       "WEBCARE_RULES_DIR": str(REPO / "routing_rules"), "WEBCARE_WORKERS_ENABLED": "false",
                       "WEBCARE_ENV": "development", SECRET_ENV: SECRET}
            service = subprocess.Popen([str(Path(sys.executable).with_name("webcare")), "serve", "--port",
                                        str(service_port)], cwd=REPO, env=environ,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            processes.append(service)
            bare = subprocess.Popen([sys.executable, __file__, "--bare", str(bare_port)], cwd=REPO,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            processes.append(bare)
            for base, process in ((f"http://127.0.0.1:{service_port}", service),
                                  (f"http://127.0.0.1:{bare_port}", bare)):
                wait_ready(base, process)
            results["bare"] = run_phases(f"http://127.0.0.1:{bare_port}", "bare")
            results["service"] = run_phases(f"http://127.0.0.1:{service_port}", "svc")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    print(f"{os.cpu_count()} CPUs; single: {CONNECTIONS} connections, at most {REQUESTS} requests; "
          f"batch: {BATCH_SIZE} mentions a body, {BATCH_CONNECTIONS} connections, at most {BATCHES} requests; "
          f"each phase at most {SECONDS:.0f} s")
    for phase in ("single", "batch"):
        for server in ("bare", "service"):
            r = results[server][phase]
            print(f"{phase:6} {server:7} {r.mentions:6d} mentions {r.rate:8.0f} mentions/s  "
                  f"p50 {r.percentile(0.50):7.1f} ms  p99 {r.percentile(0.99):7.1f} ms")
        ratio = results["service"][phase].rate / results["bare"][phase].rate
        print(f"{phase:6} service/bare = {ratio:.2f}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--bare"]:
        import uvicorn

        uvicorn.run(bare_app(), host="127.0.0.1", port=int(sys.argv[2]), log_config=None, proxy_headers=True)
    else:
        main()
