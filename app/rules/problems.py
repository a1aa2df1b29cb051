"""Problems found in a `routing_rules/` folder, in the `PATH:LINE:COL: severity: message` form of
SPEC §4."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One error or warning. `line` and `col` are 1-based; `path` is the folder as given joined with
    the file's relative path."""

    path: str
    line: int
    col: int
    severity: Severity
    message: str
    code: str = ""
    """The lint that found it (`shadowed-rule`, ...); "" for problems that stop loading or files
    that are ignored."""

    def __str__(self) -> str:
        tail = f" [{self.code}]" if self.code else ""
        return f"{self.path}:{self.line}:{self.col}: {self.severity}: {self.message}{tail}"


class RuleSetError(Exception):
    """A folder that does not load. `problems` holds every problem found (errors and warnings)."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        first = str(errors[0]) if errors else "no errors"
        super().__init__(f"{len(errors)} error(s) in routing rules; first: {first}")


def count(problems: Iterable[Problem]) -> tuple[int, int]:
    """(errors, warnings) in `problems`."""
    errors = warnings = 0
    for p in problems:
        if p.severity == "error":
            errors += 1
        else:
            warnings += 1
    return errors, warnings
