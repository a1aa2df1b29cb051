"""The watcher of a running process: edits in place and folders published by swapping a link
(git-sync `--link`, as deploy/kubernetes does) are both reloaded, again and again."""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.audit.models import AuditEntry
from app.db import make_engine, make_sessionmaker
from app.kernel.clock import utc_now
from app.migrate import upgrade_to_head
from app.rules.hits import HitCounter
from app.rules.holder import RuleSetHolder, holder_for
from app.rules.processes import request_reload
from app.rules.runtime import RulesRuntime, new_process_id, watch_root
from tests.conftest import BASIC_RULES
from tests.dbutil import scratch_database_url

BILLING = "department: billing, category: billing}"


def wait_for(what: str, check: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def publish(root: Path, name: str, department: str) -> Path:
    """A new version of the folder under `root`, routing invoices to `department`, then the link
    `current` swapped to it atomically (as git-sync does)."""
    target = root / ".worktrees" / name
    shutil.copytree(BASIC_RULES, target)
    rules = target / "rules" / "routing.yaml"
    rules.write_text(rules.read_text().replace(BILLING, f"department: {department}, category: billing}}"))
    os.symlink(target, root / "current.tmp")
    os.replace(root / "current.tmp", root / "current")
    return target


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Callable[[Path], RuleSetHolder]]:
    started: list[RulesRuntime] = []
    with scratch_database_url(tmp_path) as url:
        engine = make_engine(url)
        upgrade_to_head(engine)

        def start(folder: Path) -> RuleSetHolder:
            holder = holder_for(folder, now=utc_now())
            runtime = RulesRuntime(holder, HitCounter(), make_sessionmaker(engine), kind="serve",
                                   process_id=new_process_id(), poll_interval=0.1, debounce_ms=100)
            runtime.start()
            started.append(runtime)
            return holder

        yield start
        for runtime in started:
            runtime.stop()
        engine.dispose()


def department_of(holder: RuleSetHolder) -> str | None:
    rule = next(r for r in holder.current.rules if r.id == "billing")
    return rule.then.department


def test_an_edit_in_place_is_reloaded(running: Callable[[Path], RuleSetHolder], tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    shutil.copytree(BASIC_RULES, folder)
    holder = running(folder)
    rules = folder / "rules" / "routing.yaml"
    rules.write_text(rules.read_text().replace(BILLING, "department: network, category: billing}"))
    wait_for("the edit", lambda: department_of(holder) == "network")
    assert holder.status.trigger == "file change"


def test_a_folder_published_by_swapping_a_link_is_reloaded_each_time(
        running: Callable[[Path], RuleSetHolder], tmp_path: Path) -> None:
    root = tmp_path / "rules"
    first = publish(root, "one", "billing")
    assert watch_root(root / "current") == root
    holder = running(root / "current")
    previous = first
    for name, department in (("two", "network"), ("three", "webcare"), ("four", "billing")):
        target = publish(root, name, department)
        shutil.rmtree(previous)  # git-sync removes the old worktree after the swap
        previous = target
        wait_for(f"version {name}", lambda d=department: department_of(holder) == d)


@pytest.fixture
def audited_runtime(tmp_path: Path) -> Iterator[Callable[[Path, bool], tuple[RulesRuntime, sessionmaker[Session]]]]:
    """Start a runtime on a folder (watching or not) over a database of its own."""
    started: list[RulesRuntime] = []
    with scratch_database_url(tmp_path) as url:
        engine = make_engine(url)
        upgrade_to_head(engine)
        sessions = make_sessionmaker(engine)

        def start(folder: Path, watch: bool) -> tuple[RulesRuntime, sessionmaker[Session]]:
            runtime = RulesRuntime(holder_for(folder, now=utc_now()), HitCounter(), sessions, kind="serve",
                                   process_id=new_process_id(), watch=watch, poll_interval=0.1, debounce_ms=100)
            runtime.start()
            started.append(runtime)
            return runtime, sessions

        yield start
        for runtime in started:
            runtime.stop()
        engine.dispose()


def reload_entries(sessions: sessionmaker[Session]) -> list[AuditEntry]:
    with sessions() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == "rules.reloaded")
                                    .order_by(AuditEntry.id)))


def route_billing_to(folder: Path, department: str) -> None:
    rules = folder / "rules" / "routing.yaml"
    text = re.sub(r"department: \w+, category: billing}", f"department: {department}, category: billing}}",
                  rules.read_text())
    rules.write_text(text)


def test_a_reload_on_a_file_change_is_audited_as_the_system(audited_runtime: Any, tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    shutil.copytree(BASIC_RULES, folder)
    runtime, sessions = audited_runtime(folder, True)
    before = runtime.holder.current.version
    route_billing_to(folder, "network")
    wait_for("the entry", lambda: len(reload_entries(sessions)) == 1)
    [entry] = reload_entries(sessions)
    assert (entry.actor_type, entry.actor, entry.target) == ("system", "system", "rules")
    assert entry.details == {"trigger": "file change", "version_before": before,
                             "version": runtime.holder.current.version, "changed": True, "departments_changed": [],
                             "process": runtime.process_id}


def test_sighup_reloads_are_audited_once_per_new_version_and_others_asking_is_not(audited_runtime: Any,
                                                                                   tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    shutil.copytree(BASIC_RULES, folder)
    runtime, sessions = audited_runtime(folder, False)
    route_billing_to(folder, "network")
    runtime.request_reload("SIGHUP")
    wait_for("the first entry", lambda: len(reload_entries(sessions)) == 1)
    status = runtime.holder.status
    runtime.request_reload("SIGHUP")  # the same version again: nothing changed, nothing recorded
    wait_for("the second reload", lambda: runtime.holder.status is not status)
    route_billing_to(folder, "webcare")
    with sessions() as session, session.begin():  # an HTTP reload elsewhere (audited there) asks this one
        request_reload(session, process_id="another-replica", now=utc_now())
    wait_for("the other process's reload", lambda: department_of(runtime.holder) == "webcare")
    asked_by_another = runtime.holder.current.version
    route_billing_to(folder, "billing")
    runtime.request_reload("SIGHUP")
    wait_for("the last entry", lambda: len(reload_entries(sessions)) == 2)
    time.sleep(0.5)  # a few more steps of the rules thread: no late entry
    first, last = reload_entries(sessions)
    assert (first.details["trigger"], last.details["trigger"]) == ("SIGHUP", "SIGHUP")
    assert first.details["version"] != asked_by_another == last.details["version_before"]
    assert department_of(runtime.holder) == "billing"
