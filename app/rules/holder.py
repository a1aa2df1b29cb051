"""The process's active rule set, swapped atomically on a reload that passes everything.

A reload reads the folder, validates and compiles it, and runs its own `tests/`; only when there
is no error and every test passes does the new set replace the running one (one reference
assignment: a request that already took `current` finishes with the set it took). Otherwise the
running set stays and the problems are kept as the last error, logged as `path:line:col`.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from app.kernel.clock import utc_now
from app.rules.loader import check_ruleset, load_ruleset
from app.rules.model import RuleSet
from app.rules.problems import Problem
from app.rules.testing import run_rule_tests

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReloadStatus:
    """How the last reload went. `errors` are `path:line:col: error: message` lines (empty when it
    succeeded); `last_success_at` is when the running set was loaded."""

    successful: bool
    trigger: str
    attempted_at: datetime
    last_success_at: datetime | None
    errors: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, object]:
        return {"successful": self.successful, "trigger": self.trigger,
                "attempted_at": self.attempted_at.isoformat(),
                "last_success_at": self.last_success_at.isoformat() if self.last_success_at else None,
                "errors": list(self.errors)}


def test_failures(directory: Path, ruleset: RuleSet, *, now: datetime) -> list[Problem]:
    """One error per failing test of the folder's `tests/`, placed at the test's line."""
    places = {(t.file, t.name): t.line for t in ruleset.tests} | {(t.file, t.name): t.line for t in ruleset.series}
    return [Problem(str(directory / r.file), places.get((r.file, r.name), 0), 1, "error",
                    f"test '{r.name}' fails: {r.why}")
            for r in run_rule_tests(ruleset, now=now) if not r.passed]


def vet_folder(directory: Path, *, now: datetime) -> tuple[RuleSet | None, list[Problem]]:
    """What a reload would swap in: the folder's rule set when it loads without errors and every
    folder test passes (else None), and every problem found, test failures included."""
    ruleset, problems = check_ruleset(directory)
    if ruleset is None:
        return None, problems
    failures = test_failures(directory, ruleset, now=now)
    if failures:
        return None, sorted([*problems, *failures])
    return ruleset, problems


class RuleSetHolder:
    """Holds the active `RuleSet` and the outcome of the last reload. Reloads are serialised."""

    def __init__(self, directory: Path, initial: RuleSet, *, now: datetime | None = None,
                 initial_problems: list[Problem] | None = None):
        self.directory = directory
        self.current = initial
        errors = tuple(str(p) for p in initial_problems or () if p.severity == "error")
        started = now or utc_now()
        self.status = ReloadStatus(successful=not errors, trigger="start", attempted_at=started,
                                   last_success_at=started, errors=errors)
        self._lock = threading.Lock()

    def reload(self, *, now: datetime, trigger: str = "request") -> tuple[bool, list[Problem]]:
        """Load, validate, compile and test the folder; swap only when all pass. Returns (swapped,
        problems). A reload that finds the version already running still re-checks it (a folder test
        may depend on `now`) but changes nothing else."""
        with self._lock:
            ruleset, problems = vet_folder(self.directory, now=now)
            if ruleset is None:
                errors = tuple(str(p) for p in problems if p.severity == "error")
                self.status = ReloadStatus(False, trigger, now, self.status.last_success_at, errors)
                log.error("rules reload (%s) refused; still running %s:\n%s", trigger, self.current.version,
                          "\n".join(errors), extra={"rules_version": self.current.version})
                return False, problems
            previous, self.current = self.current.version, ruleset
            self.status = ReloadStatus(True, trigger, now, now)
            if previous != ruleset.version:
                log.info("rules reloaded (%s): %s -> %s", trigger, previous, ruleset.version,
                         extra={"rules_version": ruleset.version})
            return True, problems


def webhooks_changed(before: RuleSet, after: RuleSet) -> list[str]:
    """The ids of the departments whose webhook (URL, events, secret names) differs between the two
    sets, sorted: added, removed, or changed."""
    ids = set(before.departments) | set(after.departments)

    def hook(ruleset: RuleSet, department: str) -> object:
        config = ruleset.departments.get(department)
        return config.webhook if config is not None else None

    return sorted(d for d in ids if hook(before, d) != hook(after, d))


def reload_facts(before: RuleSet, after: RuleSet, trigger: str) -> dict[str, object]:
    """What the audit log records of a reload that swapped `before` for `after` (no URLs: a
    webhook URL may carry a department's credentials)."""
    return {"trigger": trigger, "version_before": before.version, "version": after.version,
            "changed": before.version != after.version, "departments_changed": webhooks_changed(before, after)}


def holder_for(directory: Path, *, now: datetime) -> RuleSetHolder:
    """The holder a starting process uses. Raises `RuleSetError` when the folder has errors. A
    folder test that fails is logged and reported like a refused reload, but the set is used: a
    process that starts has no older set to keep."""
    ruleset = load_ruleset(directory)
    failing = test_failures(directory, ruleset, now=now)
    for problem in failing:
        log.error("rules: %s", problem)
    return RuleSetHolder(directory, ruleset, now=now, initial_problems=failing)
