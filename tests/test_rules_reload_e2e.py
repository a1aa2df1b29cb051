"""Reloading rules while the service runs, in two real `webcare serve` processes on one database
(PostgreSQL when the suite runs on it), each watching the same copy of a rule folder.

A broken edit (YAML syntax, an unknown list, a failing folder test, a regex that does not compile)
never changes a routing decision in either process; a good edit takes effect in both without a
restart; a reload asked of one over HTTP, or by SIGHUP, reaches the processes that do not watch; a
`webcare worker` watches and reports its version like a server."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.delivery.signing import sign_payload
from tests.conftest import BASIC_RULES, REPO
from tests.dbutil import scratch_database_url
from tests.rules.test_reload import (
    failing_folder_test,
    regex_that_does_not_compile,
    unknown_list,
    yaml_syntax_error,
)
from tests.test_service_e2e import WEBCARE, run, start_service

pytestmark = pytest.mark.slow
FAST = {"WEBCARE_RULES_POLL_SECONDS": "0.2", "WEBCARE_RULES_DEBOUNCE_MS": "200", "WEBCARE_WORKERS_ENABLED": "false"}


def wait_for(what: str, check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


class Service:
    """One running process, seen through its HTTP API."""

    def __init__(self, env: dict[str, str], token: str):
        self.env, self.base = env, env["base"]
        self.auth = {"authorization": f"Bearer {token}"}

    def rules(self) -> dict[str, Any]:
        response = httpx.get(f"{self.base}/api/v1/rules", headers=self.auth, timeout=10)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def department_for(self, text: str) -> str:
        """Route a new mention through this process's webhook and read the case's owner."""
        secret = (Path(self.env["WEBCARE_VAR_DIR"]) / "secrets" / "TEST_LISTENING_SECRET").read_text().strip()
        body = json.dumps({"id": f"e2e-{uuid.uuid4().hex}", "channel": "x", "text": text,
                           "author": {"id": uuid.uuid4().hex}}).encode()
        headers = {**sign_payload([secret], f"msg_{uuid.uuid4().hex}", int(time.time()), body),
                   "content-type": "application/json"}
        answer = httpx.post(f"{self.base}/webhooks/listening-tool", content=body, headers=headers, timeout=10)
        assert answer.status_code == 200, answer.text
        ref = answer.json()["cases"][0]
        department: str = httpx.get(f"{self.base}/api/v1/cases/{ref}", headers=self.auth,
                                    timeout=10).json()["department"]
        return department


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(BASIC_RULES, target)
    return target


def two_services(tmp_path: Path, folder: Path, extra_env: dict[str, str]) -> Iterator[tuple[Service, Service]]:
    with scratch_database_url(tmp_path) as url, ExitStack() as stack:
        first = stack.enter_context(start_service(tmp_path, folder, {**FAST, **extra_env}, url))
        second = stack.enter_context(start_service(tmp_path, folder, {**FAST, **extra_env}, url))
        added = run(first, "users", "add", "olga", "--role", "ops", "--password", "correct horse battery")
        assert added.returncode == 0, added.stderr
        token = run(first, "tokens", "create", "--user", "olga").stdout.strip()
        yield Service(first, token), Service(second, token)


@pytest.fixture
def watching(tmp_path: Path, folder: Path) -> Iterator[tuple[Service, Service]]:
    yield from two_services(tmp_path, folder, {})


@pytest.fixture
def not_watching(tmp_path: Path, folder: Path) -> Iterator[tuple[Service, Service]]:
    yield from two_services(tmp_path, folder, {"WEBCARE_RULES_WATCH": "false"})


INVOICE = "Mijn factuur klopt niet"


def test_broken_edits_never_change_a_decision_and_a_good_edit_needs_no_restart(
        watching: tuple[Service, Service], folder: Path) -> None:
    services = watching
    original = {p: p.read_bytes() for p in folder.rglob("*.yaml")}
    version = services[0].rules()["version"]
    wait_for("both processes to report", lambda: len(services[0].rules()["processes"]) == 2)

    for break_it in (yaml_syntax_error, unknown_list, failing_folder_test, regex_that_does_not_compile):
        place = f"{folder}/{break_it(folder)}"
        for service in services:
            wait_for(f"{break_it.__name__} refused in {service.base}",
                     lambda s=service: not s.rules()["reload"]["successful"])
            shown = service.rules()
            assert shown["version"] == version
            assert any(place in line for line in shown["reload"]["errors"]), shown["reload"]["errors"]
            ready = httpx.get(f"{service.base}/readyz")
            assert ready.status_code == 200 and ready.json()["checks"]["rules_reload"] == "failed"
            assert ready.json()["rules_last_error"] == shown["reload"]["errors"]
            metrics = httpx.get(f"{service.base}/metrics").text
            assert "webcare_rules_last_reload_successful 0.0" in metrics
            assert f'webcare_rules_info{{version="{version}"}} 1.0' in metrics
            assert service.department_for(INVOICE) == "billing"
        for path, data in original.items():
            path.write_bytes(data)
        for service in services:
            wait_for(f"{service.base} to accept the restored folder",
                     lambda s=service: s.rules()["reload"]["successful"])

    rules_file = folder / "rules" / "routing.yaml"
    rules_file.write_text(rules_file.read_text().replace("department: billing, category: billing}",
                                                         "department: network, category: billing}"))
    for service in services:
        wait_for(f"{service.base} to run the edit", lambda s=service: s.rules()["version"] != version)
        assert service.department_for(INVOICE) == "network"
    new_version = services[0].rules()["version"]
    wait_for("the heartbeats to agree", lambda: services[1].rules()["versions_agree"])
    shown = services[1].rules()
    assert [p["version"] for p in shown["processes"]] == [new_version, new_version]
    assert 'webcare_rules_last_reload_successful 1.0' in httpx.get(f"{services[1].base}/metrics").text


def test_a_reload_asked_of_one_process_reaches_the_other_and_sighup_reloads(
        not_watching: tuple[Service, Service], folder: Path) -> None:
    first, second = not_watching
    version = first.rules()["version"]
    rules_file = folder / "rules" / "routing.yaml"
    rules_file.write_text(rules_file.read_text().replace("department: billing, category: billing}",
                                                         "department: network, category: billing}"))
    time.sleep(1)  # nobody watches: both still run the old set
    assert first.department_for(INVOICE) == second.department_for(INVOICE) == "billing"

    reloaded = httpx.post(f"{first.base}/api/v1/rules/reload", headers=first.auth, timeout=30)
    assert reloaded.status_code == 200, reloaded.text
    wait_for("the other process to reload", lambda: second.rules()["version"] != version)
    assert second.rules()["reload"]["trigger"] == "another process"
    assert second.department_for(INVOICE) == "network"
    wait_for("both processes to report the new version", lambda: first.rules()["versions_agree"]
             and len(first.rules()["processes"]) == 2)

    edited = second.rules()["version"]
    rules_file.write_text(rules_file.read_text().replace("department: network, category: billing}",
                                                         "department: webcare, category: billing}"))
    os.kill(int(second.env["pid"]), signal.SIGHUP)
    wait_for("SIGHUP to reload", lambda: second.rules()["version"] != edited)
    assert second.rules()["reload"]["trigger"] == "SIGHUP"
    assert second.department_for(INVOICE) == "webcare"
    assert first.rules()["version"] == edited  # a signal reloads only the process it is sent to
    wait_for("the heartbeats to disagree", lambda: first.rules()["versions_agree"] is False)


def test_a_worker_process_watches_too_and_reports_its_version(tmp_path: Path, folder: Path) -> None:
    with scratch_database_url(tmp_path) as url, start_service(tmp_path, folder, FAST, url) as env:
        added = run(env, "users", "add", "olga", "--role", "ops", "--password", "correct horse battery")
        assert added.returncode == 0, added.stderr
        service = Service(env, run(env, "tokens", "create", "--user", "olga").stdout.strip())
        log = (tmp_path / "worker.log").open("a")
        worker = subprocess.Popen([*WEBCARE, "worker"], env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for("the worker to report", lambda: [p["kind"] for p in service.rules()["processes"]]
                     == ["serve", "worker"])
            version = service.rules()["version"]
            rules_file = folder / "rules" / "routing.yaml"
            rules_file.write_text(rules_file.read_text().replace("department: billing, category: billing}",
                                                                 "department: network, category: billing}"))
            wait_for("both to run the edit", lambda: service.rules()["version"] != version
                     and service.rules()["versions_agree"])
            worker_row = next(p for p in service.rules()["processes"] if p["kind"] == "worker")
            assert worker_row["version"] == service.rules()["version"] and worker_row["reload_successful"]
        finally:
            worker.terminate()
            worker.wait(timeout=20)
            log.close()
        wait_for("the stopped worker to be forgotten",
                 lambda: [p["kind"] for p in service.rules()["processes"]] == ["serve"])
