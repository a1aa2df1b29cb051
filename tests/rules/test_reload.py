"""Reloading a running rule set: a broken edit never changes a routing decision; a good one does.

The holder is what every process routes with (`app.state.rules.current`); these tests edit a copy
of a rule folder under it and check the decision for the same mention before and after."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.mentions.model import Mention
from app.rules import classify
from app.rules.holder import RuleSetHolder, holder_for
from tests.conftest import BASIC_RULES

NOW = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
INVOICE = Mention(external_id="m1", channel="x", text="Mijn factuur klopt niet")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(BASIC_RULES, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def yaml_syntax_error(folder: Path) -> str:
    edit(folder / "rules" / "routing.yaml", "department: billing, category: billing}",
         "department: network, category: billing")  # the flow mapping is never closed
    return "rules/routing.yaml:18:1: error: YAML syntax error"


def unknown_list(folder: Path) -> str:
    edit(folder / "rules" / "routing.yaml", "[list:billing]", "[list:invoices]")
    return "rules/routing.yaml:16:34: error: unknown list 'invoices'"


def failing_folder_test(folder: Path) -> str:
    # Valid on its own, but the folder's test "outage goes to network" no longer holds.
    edit(folder / "rules" / "routing.yaml", "department: network, category: outage",
         "department: billing, category: outage")
    edit(folder / "rules" / "routing.yaml", "department: billing, category: billing}",
         "department: network, category: billing}")
    return "tests/routing.yaml:3:1: error: test 'outage goes to network' fails: department: expected network"


def regex_that_does_not_compile(folder: Path) -> str:
    edit(folder / "rules" / "routing.yaml", "when: {text: {contains_any: [list:billing]}}",
         'when: {text: {matches: "factuur(("}}')
    return "rules/routing.yaml:16:28: error: rule 'billing': when: text: matches: invalid RE2 pattern"


@pytest.mark.parametrize("break_it", [yaml_syntax_error, unknown_list, failing_folder_test,
                                      regex_that_does_not_compile])
def test_a_broken_edit_never_changes_a_decision(folder: Path, break_it: Callable[[Path], str]) -> None:
    holder = holder_for(folder, now=NOW)
    before = classify(holder.current, INVOICE, NOW)
    assert before.department == "billing"

    place = break_it(folder)
    swapped, _ = holder.reload(now=NOW, trigger="test")

    assert not swapped
    assert classify(holder.current, INVOICE, NOW) == before
    assert holder.current.version == before.ruleset_version
    status = holder.status
    assert not status.successful and status.trigger == "test" and status.last_success_at == NOW
    assert any(f"{folder}/{place}" in line for line in status.errors), status.errors
    assert all(line.count(":") >= 4 for line in status.errors)  # path:line:col: error: message


def test_a_good_edit_takes_effect_and_clears_the_last_error(folder: Path) -> None:
    holder = holder_for(folder, now=NOW)
    unknown_list(folder)
    assert holder.reload(now=NOW)[0] is False
    edit(folder / "rules" / "routing.yaml", "[list:invoices]", "[list:billing]")
    edit(folder / "rules" / "routing.yaml", "department: billing, category: billing}",
         "department: network, category: billing}")
    later = datetime(2026, 3, 2, 9, 20, tzinfo=UTC)

    swapped, _ = holder.reload(now=later, trigger="file change")

    assert swapped
    decision = classify(holder.current, INVOICE, later)
    assert decision.department == "network" and decision.ruleset_version == holder.current.version
    assert holder.status.successful and holder.status.errors == () and holder.status.last_success_at == later


def test_a_process_starts_with_a_folder_whose_tests_fail_and_says_so(folder: Path) -> None:
    failing_folder_test(folder)
    holder: RuleSetHolder = holder_for(folder, now=NOW)
    assert not holder.status.successful and holder.status.trigger == "start"
    assert "fails" in holder.status.errors[0]
    assert classify(holder.current, INVOICE, NOW).department == "network"


def test_reloads_at_once_swap_whole_sets_while_mentions_are_routed(folder: Path) -> None:
    """The watcher, SIGHUP and the endpoint may ask at the same moment while requests route: every
    decision is made entirely by one set (its department matches the version it records)."""
    holder = holder_for(folder, now=NOW)
    old = holder.current.version
    edit(folder / "rules" / "routing.yaml", "department: billing, category: billing}",
         "department: network, category: billing}")
    seen: set[tuple[str, str]] = set()
    stop = threading.Event()

    def route() -> None:
        while not stop.is_set():
            d = classify(holder.current, INVOICE, NOW)
            seen.add((d.ruleset_version, d.department))

    reader = threading.Thread(target=route)
    reader.start()
    start = threading.Barrier(4)
    results: list[bool] = []

    def reload() -> None:
        start.wait()
        results.append(holder.reload(now=NOW, trigger="test")[0])

    reloaders = [threading.Thread(target=reload) for _ in range(4)]
    for thread in reloaders:
        thread.start()
    for thread in reloaders:
        thread.join()
    time.sleep(0.05)
    stop.set()
    reader.join()
    new = holder.current.version
    assert results == [True] * 4 and new != old
    assert seen <= {(old, "billing"), (new, "network")} and (new, "network") in seen
