"""What oversized and unsigned bodies cost the service: `.venv/bin/python bench/body_limits.py [REPO ...]`.

Starts `webcare serve` (SQLite, workers off, the example routing_rules/) from each checkout given
(default: this one), so a baseline checkout and this one are measured in the same run, and per
scenario reports the server's peak RSS growth (VmHWM, reset before each scenario through
/proc/PID/clear_refs) and the wall time until every request was answered:

  A  one unauthenticated 300 MB POST to a case action, sent as fast as the server takes it, until
     the server answers (bytes the server let in are reported);
  B  50 concurrent 16 MiB POSTs to a platform webhook (telco-meta) with a wrong signature;
  C  50 concurrent 2 MiB POSTs to the same webhook with a wrong signature (under the new limit);
  D  50 concurrent 2 MiB POSTs to the same webhook without a signature header.
"""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(repo: Path, folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {**os.environ, "WEBCARE_VAR_DIR": str(folder / "var"), "WEBCARE_RULES_DIR": str(repo / "routing_rules"),
           "WEBCARE_PORT": str(port), "WEBCARE_WORKERS_ENABLED": "false", "WEBCARE_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen([sys.executable, "-m", "app", "serve"], cwd=repo, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process, port
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"{repo}: the service did not start")


def rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def huge_action_post(port: int) -> tuple[int, int]:
    """Scenario A: the status and the bytes the server took before answering."""
    head = (f"POST /api/v1/cases/WC-000001/notes HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {300 * MIB}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head)
        sock.setblocking(False)
        sent, block = 0, b" " * (256 * 1024)
        while sent < 300 * MIB:
            readable, writable, _ = select.select([sock], [sock], [], 5)
            if readable or not writable:
                break
            try:
                sent += sock.send(block)
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                break
        sock.setblocking(True)
        answer = sock.recv(64)
    return int(answer.split(b" ", 2)[1]) if answer else 0, sent


def concurrent_posts(port: int, size: int, headers: dict[str, str]) -> list[int]:
    body = b"{" + b" " * (size - 2) + b"}"

    def one(_: int) -> int:
        with httpx.Client(timeout=120) as client:
            try:
                return client.post(f"http://127.0.0.1:{port}/webhooks/telco-meta", content=body,
                                   headers={"content-type": "application/json", **headers}).status_code
            except httpx.TransportError:
                return 0
    with ThreadPoolExecutor(50) as pool:
        return sorted(set(pool.map(one, range(50))))


def measure(repo: Path) -> list[str]:
    wrong = {"x-hub-signature-256": "sha256=" + "0" * 64}
    scenarios: list[tuple[str, Callable[[int], object]]] = [
        ("A 300 MB unauthenticated action POST", huge_action_post),
        ("B 50 x 16 MiB, wrong signature", lambda port: concurrent_posts(port, 16 * MIB, wrong)),
        ("C 50 x 2 MiB, wrong signature", lambda port: concurrent_posts(port, 2 * MIB - 1024, wrong)),
        ("D 50 x 2 MiB, no signature header", lambda port: concurrent_posts(port, 2 * MIB - 1024, {})),
    ]
    rows = []
    for name, run in scenarios:
        # A fresh server per scenario: memory freed by one scenario stays in the process and would
        # hide the next one's peak.
        with tempfile.TemporaryDirectory() as folder:
            process, port = start(repo, Path(folder))
            try:
                base = rss_kib(process.pid, "VmRSS")
                Path(f"/proc/{process.pid}/clear_refs").write_text("5")
                started = time.monotonic()
                outcome = run(port)
                took = time.monotonic() - started
                peak = rss_kib(process.pid, "VmHWM")
            finally:
                process.terminate()
                process.wait(timeout=20)
        rows.append(f"| {repo.name} | {name} | {outcome} | {took:.2f} s | {(peak - base) / 1024:.0f} MB |")
    return rows


def main() -> None:
    repos = [Path(p).resolve() for p in sys.argv[1:]] or [REPO]
    print("| checkout | scenario | answer (statuses, or status and bytes taken) | time | peak RSS growth |")
    print("|---|---|---|---|---|")
    for repo in repos:
        for row in measure(repo):
            print(row, flush=True)


if __name__ == "__main__":
    main()
