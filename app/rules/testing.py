"""Running the test cases of `tests/*.yaml` against a loaded rule set. Pure: the fallback `now`
is passed in."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from app.rules.decision import Decision, RuleTestResult
from app.rules.evaluate import classify
from app.rules.model import Expect, RuleSet


def run_rule_tests(ruleset: RuleSet, *, now: datetime) -> list[RuleTestResult]:
    """One result per test case, in file order. A case's `now` wins over its file's, which wins
    over the `now` given here."""
    results = []
    for test in ruleset.tests:
        decision = classify(ruleset, test.mention, test.now or now, connector=test.connector)
        failures = compare(test.expect, decision)
        results.append(RuleTestResult(test.name, test.file, not failures, "; ".join(failures)))
    return results


def compare(expect: Expect, decision: Decision) -> list[str]:
    """Every expectation the decision does not meet, in words."""
    out: list[str] = []
    for key in ("department", "category", "priority", "sla_policy"):
        want, got = getattr(expect, key), getattr(decision, key)
        if want is not None and want != got:
            out.append(f"{key}: expected {want}, got {got}")
    for key in ("tags", "notify"):
        want_set: frozenset[str] | None = getattr(expect, key)
        got_tuple: tuple[str, ...] = getattr(decision, key)
        if want_set is not None and want_set != set(got_tuple):
            out.append(f"{key}: expected {_set(want_set)}, got {_set(got_tuple)}")
    if expect.matched_rules is not None and expect.matched_rules != decision.matched_rules:
        out.append(f"matched_rules: expected [{', '.join(expect.matched_rules)}], "
                   f"got [{', '.join(decision.matched_rules)}]")
    for rule_id in expect.not_matched_rules or ():
        if rule_id in decision.matched_rules:
            out.append(f"not_matched_rules: {rule_id} matched")
    return out


def _set(values: Iterable[str]) -> str:
    return "{" + ", ".join(sorted(values)) + "}"
