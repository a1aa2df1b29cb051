"""The watcher of a running process: edits in place and folders published by swapping a link
(git-sync `--link`, as deploy/kubernetes does) are both reloaded, again and again."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.db import make_engine, make_sessionmaker
from app.kernel.clock import utc_now
from app.migrate import upgrade_to_head
from app.rules.hits import HitCounter
from app.rules.holder import RuleSetHolder, holder_for
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
