"""The process's active rule set, swapped atomically on reload."""

from __future__ import annotations

import threading
from pathlib import Path

from app.rules import RuleSet, check_ruleset
from app.rules.problems import Problem


class RuleSetHolder:
    """Holds the active `RuleSet`. A reload that finds errors keeps the current set."""

    def __init__(self, directory: Path, initial: RuleSet):
        self.directory = directory
        self.current = initial
        self._lock = threading.Lock()

    def reload(self) -> tuple[bool, list[Problem]]:
        """Load the folder again; swap only when it has no errors. Returns (swapped, problems)."""
        with self._lock:
            ruleset, problems = check_ruleset(self.directory)
            if ruleset is None:
                return False, problems
            self.current = ruleset
            return True, problems
