"""A live stream ends when its session does: the user deactivated, or logged out elsewhere, while
the stream is open (a live `webcare serve`, real HTTP)."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.test_service_e2e import run, start_service
from tests.ui.support import PASSWORD, csrf_of, login

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with start_service(tmp_path_factory.mktemp("live-session")) as env:
        yield env


def open_stream(base: str, username: str, path: str) -> tuple[httpx.Client, queue.Queue[str | None]]:
    """A logged-in client and the lines of `path`'s event stream as they arrive (None: it ended)."""
    client = httpx.Client(base_url=base, timeout=httpx.Timeout(10, read=60))
    login(client, username)  # type: ignore[arg-type]
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        try:
            with client.stream("GET", path) as response:
                assert response.status_code == 200
                for line in response.iter_lines():
                    lines.put(line)
        finally:
            lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    return client, lines


def wait_for(lines: queue.Queue[str | None], predicate: Any, seconds: float) -> list[str | None]:
    """Lines until `predicate(line)` holds; fails after `seconds`."""
    seen: list[str | None] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            break
        seen.append(line)
        if predicate(line):
            return seen
    raise AssertionError(f"not seen within {seconds} s: {seen[-5:]}")


@pytest.mark.parametrize("path", ["/ui/live/queue", "/ui/live/case/WC-000001"])
def test_deactivating_the_user_ends_their_open_stream(service: dict[str, str], path: str) -> None:
    name = f"ann{abs(hash(path)) % 10_000}"
    assert run(service, "users", "add", name, "--role", "agent", "--password", PASSWORD).returncode == 0
    if path.endswith("WC-000001"):
        assert run(service, "send", "--url", service["base"], "--connector", "listening-tool",
                   "--text", "hallo").returncode == 0
    client, lines = open_stream(service["base"], name, path)
    try:
        wait_for(lines, lambda line: line and line.startswith("event: "), 30)  # the first page or case
        assert run(service, "users", "deactivate", name).returncode == 0
        # Within one heartbeat (15 s) at the latest: a `gone` event, then the end of the stream.
        ended = wait_for(lines, lambda line: line is None, 25)
        assert "event: gone" in ended
    finally:
        client.close()


def test_logging_out_elsewhere_ends_the_stream(service: dict[str, str]) -> None:
    assert run(service, "users", "add", "bea", "--role", "agent", "--password", PASSWORD).returncode == 0
    client, lines = open_stream(service["base"], "bea", "/ui/live/queue")
    try:
        wait_for(lines, lambda line: line and line.startswith("event: rows"), 30)
        page = client.get("/ui/")
        assert client.post("/ui/logout", data={"csrf_token": csrf_of(page.text)},
                           follow_redirects=False).status_code == 303
        ended = wait_for(lines, lambda line: line is None, 25)
        assert "event: gone" in ended
    finally:
        client.close()
