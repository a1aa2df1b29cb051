"""Stopping and copying a running service: SIGTERM ends live page streams at once and the process
exits within its grace period; on SQLite the `.db` file alone then holds every committed change;
`webcare backup` makes a consistent copy while the service runs, on either database."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.dbutil import scratch_database_url
from tests.test_service_e2e import launch_service, run
from tests.ui.support import PASSWORD, csrf_of

pytestmark = pytest.mark.slow


def send_mention(env: dict[str, str], text: str) -> str:
    result = run(env, "send", "--connector", "listening-tool", "--text", text, "--url", env["base"])
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_sigterm_ends_live_streams_and_exits_within_the_grace_period(tmp_path: Path) -> None:
    with scratch_database_url(tmp_path) as url:
        process, env = launch_service(tmp_path, database_url=url,
                                      extra_env={"WEBCARE_SHUTDOWN_GRACE_SECONDS": "5"})
        try:
            assert run(env, "users", "add", "ann", "--role", "agent", "--password", PASSWORD).returncode == 0
            with httpx.Client(base_url=env["base"], timeout=10) as client:
                page = client.get("/ui/login")
                client.post("/ui/login", data={"username": "ann", "password": PASSWORD,
                                               "csrf_token": csrf_of(page.text), "next": "/ui/"})
                with client.stream("GET", "/ui/live/queue", timeout=30) as stream:
                    assert stream.status_code == 200
                    chunks = stream.iter_text()
                    seen = ""
                    while "event: rows" not in seen:
                        seen += next(chunks)
                    asked = time.monotonic()
                    process.send_signal(signal.SIGTERM)
                    for _ in chunks:  # the server ends the stream: iteration stops
                        pass
                    assert time.monotonic() - asked < 4, "the live stream held the shutdown"
            process.wait(timeout=15)
            assert time.monotonic() - asked < 10
            # uvicorn re-raises the signal once it has shut down cleanly, as a process manager expects.
            assert process.returncode in (0, -signal.SIGTERM)
            assert "Application shutdown complete" in (tmp_path / "serve.log").read_text()
        finally:
            process.kill()
            process.wait()


def test_after_a_graceful_stop_on_sqlite_the_db_file_alone_holds_every_commit(tmp_path: Path) -> None:
    database = tmp_path / "alone.db"
    process, env = launch_service(tmp_path, database_url=f"sqlite:///{database}")
    try:
        for n in range(3):
            assert '"accepted":1' in send_mention(env, f"Al {n} uur storing, geen internet")
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    finally:
        process.kill()
        process.wait()
    wal = Path(f"{database}-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    copy = tmp_path / "copy-of-the-file-alone.db"
    shutil.copyfile(database, copy)  # what a person copying "the database" by hand gets
    with sqlite3.connect(copy) as connection:
        assert connection.execute("SELECT count(*) FROM mentions").fetchone() == (3,)


def test_webcare_backup_copies_a_running_service_consistently(tmp_path: Path) -> None:
    with scratch_database_url(tmp_path) as url:
        process, env = launch_service(tmp_path, database_url=url)
        try:
            for n in range(2):
                send_mention(env, f"Factuur {n} klopt niet, dubbel afgeschreven")
            target = tmp_path / "backups" / "webcare.backup"
            result = run(env, "backup", str(target))
            assert result.returncode == 0, result.stderr
            again = run(env, "backup", str(target))
            assert again.returncode == 1 and "exists" in again.stderr
        finally:
            process.terminate()
            process.wait(timeout=30)
        if url.startswith("sqlite"):
            with sqlite3.connect(target) as connection:
                assert connection.execute("SELECT count(*) FROM mentions").fetchone() == (2,)
        else:
            listing = subprocess.run(["pg_restore", "--list", str(target)], capture_output=True, text=True,
                                     check=True).stdout
            assert "TABLE DATA public mentions" in listing


def test_backup_of_a_missing_sqlite_file_fails_clearly(tmp_path: Path) -> None:
    env = {"WEBCARE_DATABASE_URL": f"sqlite:///{tmp_path / 'nothing.db'}", "WEBCARE_VAR_DIR": str(tmp_path)}
    import os

    result = run({**os.environ, **env}, "backup", str(tmp_path / "out.db"))
    assert result.returncode == 1 and "no SQLite database file" in result.stderr


def children_of(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(child) for child in found]


def test_serve_with_workers_runs_that_many_processes_and_stops_them_all(tmp_path: Path) -> None:
    with scratch_database_url(tmp_path) as url:
        if not url.startswith("postgresql"):
            pytest.skip("--workers needs PostgreSQL (the suite's PostgreSQL run covers it)")
        process, env = launch_service(tmp_path, database_url=url, args=("--workers", "2"),
                                      extra_env={"WEBCARE_SHUTDOWN_GRACE_SECONDS": "5"})
        try:
            workers = wait_for_children(process.pid, 2)
            refs = {send_mention(env, f"Storing nummer {n}, geen internet") for n in range(6)}
            assert all('"accepted":1' in answer for answer in refs)
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
            for worker in workers:
                assert not Path(f"/proc/{worker}").exists() or "zombie" in Path(f"/proc/{worker}/status").read_text()
        finally:
            process.kill()
            process.wait()


def wait_for_children(pid: int, count: int) -> list[int]:
    deadline = time.monotonic() + 30
    while len(children := [c for c in children_of(pid) if _is_python(c)]) < count:
        assert time.monotonic() < deadline, f"only {children} of {count} worker processes"
        time.sleep(0.2)
    return children


def _is_python(pid: int) -> bool:
    try:
        return "python" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except FileNotFoundError:
        return False


def test_serve_with_workers_refuses_sqlite(tmp_path: Path) -> None:
    import os

    env = {**os.environ, "WEBCARE_DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}", "WEBCARE_VAR_DIR": str(tmp_path)}
    result = run(env, "serve", "--workers", "2")
    assert result.returncode == 2 and "--workers needs PostgreSQL" in result.stderr
