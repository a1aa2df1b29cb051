"""Logs people can read: request lines with method, path, status, duration and request id in both
formats, and the scheduler's per-run chatter kept below WARNING."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.observability import RequestIdMiddleware, configure_logging


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in ("apscheduler", "httpx", "uvicorn.access")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, saved in levels.items():
        logging.getLogger(name).setLevel(saved)


def app_with_middleware() -> FastAPI:
    app = FastAPI()

    @app.get("/things/{n}")
    def thing(n: int) -> dict[str, int]:
        return {"n": n}

    app.add_middleware(RequestIdMiddleware)
    return app


def request_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if "webcare.http" in line]


def test_text_request_line_has_method_path_status_duration_and_request_id(
        capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("text", "INFO")
    with TestClient(app_with_middleware()) as client:
        assert client.get("/things/7", headers={"x-request-id": "req-42"}).status_code == 200
        assert client.get("/things/x", headers={"x-request-id": "req-43"}).status_code == 422
    first, second = request_lines(capsys.readouterr().err)
    assert "INFO webcare.http: GET /things/7 200 " in first and " ms [request_id=req-42]" in first
    assert "GET /things/x 422 " in second and "request_id=req-43" in second


def test_json_request_line_carries_duration_ms(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("json", "INFO")
    with TestClient(app_with_middleware()) as client:
        client.get("/things/1", headers={"x-request-id": "req-json"})
    [line] = request_lines(capsys.readouterr().err)
    entry = json.loads(line)
    assert (entry["method"], entry["path"], entry["status"], entry["request_id"]) == ("GET", "/things/1", 200,
                                                                                         "req-json")
    assert isinstance(entry["duration_ms"], float) and entry["duration_ms"] >= 0


def test_scheduler_and_outbound_client_info_lines_are_quiet_but_their_warnings_are_not(
        capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("text", "INFO")
    logging.getLogger("apscheduler.executors.default").info('Running job "sweep" (scheduled at ...)')
    logging.getLogger("httpx").info("HTTP Request: POST https://api.telegram.org/botSECRET/sendMessage")
    logging.getLogger("apscheduler.scheduler").warning("Run time of job was missed by 0:00:03")
    logging.getLogger("app.something").info("kept")
    err = capsys.readouterr().err
    assert "Running job" not in err and "HTTP Request" not in err
    assert "was missed" in err and "kept" in err
