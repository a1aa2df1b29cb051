"""What evaluation produces: the decision, its explanation, and rule-test results."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

TraceResult = Literal["matched", "failed", "not_evaluated"]


class Span(NamedTuple):
    """Text a matched rule's condition matched: [start, end) code points of the original text.
    A named tuple: classification makes one per matched keyword, and a tuple is made in half the
    time of a frozen dataclass."""

    rule_id: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Decision:
    """Where a mention goes and why. `tags` and `notify` keep the order of first addition."""

    department: str
    category: str
    priority: str
    sla_policy: str
    tags: tuple[str, ...]
    notify: tuple[str, ...]
    matched_rules: tuple[str, ...]
    deciding_rule: str | None
    spans: tuple[Span, ...]
    sentiment: int
    ruleset_version: str

    def to_json(self) -> dict[str, Any]:
        return {
            "department": self.department,
            "category": self.category,
            "priority": self.priority,
            "sla_policy": self.sla_policy,
            "tags": list(self.tags),
            "notify": list(self.notify),
            "matched_rules": list(self.matched_rules),
            "deciding_rule": self.deciding_rule,
            "spans": [{"rule_id": s.rule_id, "start": s.start, "end": s.end} for s in self.spans],
            "sentiment": self.sentiment,
            "ruleset_version": self.ruleset_version,
        }


@dataclass(frozen=True, slots=True)
class RuleTrace:
    id: str
    result: TraceResult
    reason: str


@dataclass(frozen=True, slots=True)
class Explanation:
    decision: Decision
    rules: tuple[RuleTrace, ...]

    def to_json(self) -> dict[str, Any]:
        return {"decision": self.decision.to_json(),
                "rules": [{"id": r.id, "result": r.result, "reason": r.reason} for r in self.rules]}


@dataclass(frozen=True, slots=True)
class RuleTestResult:
    """One test case's outcome; `why` lists every expectation that failed ("" when passed)."""

    name: str
    file: str
    passed: bool
    why: str
