"""Running the test cases of `tests/*.yaml` against a loaded rule set. Pure: the fallback `now`
is passed in."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from app.mentions.model import Mention
from app.rules.decision import Decision, RuleTestResult
from app.rules.evaluate import classify
from app.rules.model import Expect, RuleSet
from app.rules.watching import watch_matches
from app.storms.config import IncidentWatch
from app.storms.series import TICK, SimulatedIncident, simulate
from app.storms.series import compare as compare_series


def run_rule_tests(ruleset: RuleSet, *, now: datetime) -> list[RuleTestResult]:
    """One result per test case, in file order, then one per series test (`run_series_tests`). A
    case's `now` wins over its file's, which wins over the `now` given here."""
    results = []
    for test in ruleset.tests:
        decision = classify(ruleset, test.mention, test.now or now, connector=test.connector)
        failures = compare(test.expect, decision)
        results.append(RuleTestResult(test.name, test.file, not failures, "; ".join(failures)))
    return results + run_series_tests(ruleset)


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


def run_series_tests(ruleset: RuleSet) -> list[RuleTestResult]:
    """One result per series test: its mentions are classified at their own times, each watch of
    `incidents.yaml` is replayed over the ones it matches (`app.storms.series.simulate`), and
    the incidents that open are compared with `expect`."""
    results = []
    for test in ruleset.series:
        start = min(m.at for m in test.mentions)
        times = [(t, m.text) for m in test.mentions for t in m.times()]
        last = max(t for t, _ in times)
        found: list[SimulatedIncident] = []
        for watch in ruleset.incidents:
            matching = [t for t, text in times if _matches(ruleset, watch, text, t)]
            per_hour = sum(b.per_hour for b in test.background if _matches(ruleset, watch, b.text, start))
            history = [per_hour] * watch.history_weeks if test.background else []
            until = test.until or last + watch.window + watch.calm + TICK
            found += simulate(watch, matching, history, start=start, until=until)
        found.sort(key=lambda i: (i.opened_at, i.watch))
        failures = compare_series(test.expect, found)
        results.append(RuleTestResult(test.name, test.file, not failures, "; ".join(failures)))
    return results


def _matches(ruleset: RuleSet, watch: IncidentWatch, text: str, at: datetime) -> bool:
    category = classify(ruleset, Mention(external_id="series", channel="twitter", text=text), at).category \
        if watch.categories else None
    return watch_matches(ruleset, watch, text, category)
