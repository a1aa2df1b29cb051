"""Body limits against a live `webcare serve`, over raw sockets: a huge body is refused without
being read whole, and a platform post without its signature header without being read at all."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from app.web.body_limit import DEFAULT_MAX_BODY_BYTES
from tests.test_service_e2e import start_service

pytestmark = pytest.mark.slow
HUGE = 300 * 1024 * 1024
CHUNK = 64 * 1024


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with start_service(tmp_path_factory.mktemp("live")) as env:
        yield env


def connect(base: str) -> socket.socket:
    url = urlsplit(base)
    return socket.create_connection((url.hostname, url.port), timeout=10)


def request_head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    return "\r\n".join(lines).encode()


def response_status(sock: socket.socket) -> int:
    data = b""
    while b"\r\n" not in data:
        part = sock.recv(4096)
        assert part, "connection closed without an answer"
        data += part
    return int(data.split(b" ", 2)[1])


def send_until_answered(sock: socket.socket, cap: int) -> int:
    """Keep sending body chunks until the server answers; the number of bytes it took."""
    sock.setblocking(False)
    sent = 0
    deadline = time.monotonic() + 30
    chunk = b"%x\r\n%s\r\n" % (CHUNK, b"x" * CHUNK)
    while sent < cap and time.monotonic() < deadline:
        readable, writable, _ = select.select([sock], [sock], [], 1)
        if readable:
            break
        if writable:
            try:
                sent += sock.send(chunk)
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                break
    sock.setblocking(True)
    return sent


def test_a_huge_unauthenticated_action_body_is_refused_from_its_content_length(service: dict[str, str]) -> None:
    with connect(service["base"]) as sock:
        started = time.monotonic()
        sock.sendall(request_head("POST", "/api/v1/cases/WC-000001/notes", {
            "Content-Type": "application/json", "Content-Length": str(HUGE)}))
        sock.sendall(b"{" + b" " * CHUNK)  # the rest is never sent: the answer must not wait for it
        assert response_status(sock) == 413
        assert time.monotonic() - started < 5


def test_a_huge_chunked_action_body_is_refused_after_about_the_limit(service: dict[str, str]) -> None:
    with connect(service["base"]) as sock:
        sock.sendall(request_head("POST", "/api/v1/cases/WC-000001/notes", {
            "Content-Type": "application/json", "Transfer-Encoding": "chunked"}))
        sent = send_until_answered(sock, HUGE)
        assert response_status(sock) == 413
    # What was taken is the limit plus what the kernel's socket buffers hold, nowhere near 300 MB.
    assert DEFAULT_MAX_BODY_BYTES < sent < 32 * 1024 * 1024, sent


def test_a_platform_post_without_its_signature_header_is_answered_before_its_body(
        service: dict[str, str]) -> None:
    with connect(service["base"]) as sock:
        sock.sendall(request_head("POST", "/webhooks/telco-x", {
            "Content-Type": "application/json", "Content-Length": str(1024 * 1024)}))
        assert response_status(sock) == 401  # no byte of the body was sent
