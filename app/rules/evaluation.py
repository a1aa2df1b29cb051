"""Scoring a rule folder against labelled mentions (`webcare rules eval`): accuracy overall and per
department, the confusion matrix, precision and recall, and the misses. Pure: outcomes in,
figures out; it knows nothing of files, rules or the clock.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Outcome:
    """One labelled mention and what the rules decided for it. `expected_priority` and
    `expected_category` are None when the label gives none (then they are not scored)."""

    line: int
    text: str
    expected: str
    got: str
    deciding_rule: str | None
    ambiguous: bool = False
    expected_priority: str | None = None
    got_priority: str | None = None
    expected_category: str | None = None
    got_category: str | None = None
    note: str | None = None

    @property
    def right(self) -> bool:
        return self.expected == self.got

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "text": self.text, "expected": self.expected, "got": self.got,
                "deciding_rule": self.deciding_rule, "note": self.note}


@dataclass(frozen=True, slots=True)
class Share:
    """`right` out of `total`; `rate` is None when there is nothing to count."""

    right: int
    total: int

    @property
    def rate(self) -> float | None:
        return self.right / self.total if self.total else None

    def to_json(self) -> dict[str, Any]:
        return {"right": self.right, "total": self.total, "rate": self.rate}


@dataclass(frozen=True, slots=True)
class DepartmentScore:
    """For one department: `recall` is the share of the mentions labelled with it that the rules
    sent there (its accuracy); `precision` the share of the mentions sent there that belong there."""

    department: str
    recall: Share
    precision: Share

    def to_json(self) -> dict[str, Any]:
        return {"department": self.department, "mentions": self.recall.total, "right": self.recall.right,
                "routed_here": self.precision.total, "recall": self.recall.rate,
                "precision": self.precision.rate}


@dataclass(frozen=True, slots=True)
class Scores:
    """The figures of one group of labelled mentions (clear-cut, ambiguous or all)."""

    accuracy: Share
    departments: tuple[DepartmentScore, ...]
    confusion: dict[str, dict[str, int]]
    """expected department -> decided department -> count (only non-zero cells)."""
    priority: Share
    category: Share
    misses: tuple[Outcome, ...]

    def to_json(self) -> dict[str, Any]:
        return {"accuracy": self.accuracy.to_json(), "priority": self.priority.to_json(),
                "category": self.category.to_json(),
                "departments": [d.to_json() for d in self.departments],
                "confusion": self.confusion, "misses": [m.to_json() for m in self.misses]}


@dataclass(frozen=True, slots=True)
class EvalReport:
    """Clear-cut and ambiguous mentions scored apart (the targets are on the clear-cut ones), and
    all together."""

    clear_cut: Scores
    ambiguous: Scores
    overall: Scores

    def passes(self, minimum: float | None) -> bool:
        """Whether clear-cut accuracy reaches `minimum` (always, without one). No clear-cut mention
        at all never passes a minimum: there is nothing to vouch for."""
        if minimum is None:
            return True
        rate = self.clear_cut.accuracy.rate
        return rate is not None and rate >= minimum

    def to_json(self) -> dict[str, Any]:
        return {"clear_cut": self.clear_cut.to_json(), "ambiguous": self.ambiguous.to_json(),
                "overall": self.overall.to_json()}


def score(outcomes: Iterable[Outcome], departments: Sequence[str] = ()) -> Scores:
    """The figures of `outcomes`. Departments are listed in the order of `departments` (the rule
    folder's), then any other that occurs; only departments that occur (labelled or decided) are
    listed. Misses keep the outcomes' order."""
    items = list(outcomes)
    cells = Counter((o.expected, o.got) for o in items)
    labelled = Counter(o.expected for o in items)
    routed = Counter(o.got for o in items)
    seen = [d for d in dict.fromkeys([*departments, *labelled, *routed]) if labelled[d] or routed[d]]
    confusion: dict[str, dict[str, int]] = {}
    for expected in seen:
        row = {got: cells[expected, got] for got in seen if cells[expected, got]}
        if row:
            confusion[expected] = row
    per_department = tuple(
        DepartmentScore(d, recall=Share(cells[d, d], labelled[d]), precision=Share(cells[d, d], routed[d]))
        for d in seen)
    return Scores(
        accuracy=Share(sum(o.right for o in items), len(items)),
        departments=per_department,
        confusion=confusion,
        priority=_share((o.expected_priority, o.got_priority) for o in items),
        category=_share((o.expected_category, o.got_category) for o in items),
        misses=tuple(o for o in items if not o.right),
    )


def report(outcomes: Iterable[Outcome], departments: Sequence[str] = ()) -> EvalReport:
    """`score` for the clear-cut mentions, the ambiguous ones and all of them."""
    items = list(outcomes)
    return EvalReport(clear_cut=score([o for o in items if not o.ambiguous], departments),
                      ambiguous=score([o for o in items if o.ambiguous], departments),
                      overall=score(items, departments))


def _share(pairs: Iterable[tuple[str | None, str | None]]) -> Share:
    """How many labelled values (`expected` not None) the decision got right."""
    scored = [(want, got) for want, got in pairs if want is not None]
    return Share(sum(want == got for want, got in scored), len(scored))
