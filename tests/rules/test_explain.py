"""Explanations and the rule-test runner."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from app.rules import explain, load_ruleset, run_rule_tests
from tests.rules.support import GOOD, MONDAY_MORNING, MONDAY_NIGHT, mention, write_folder


def test_explanation_traces_every_rule() -> None:
    ruleset = load_ruleset(GOOD)
    result = explain(ruleset, mention("Al 3 uur STORING 😡", followers=20), MONDAY_MORNING)
    assert result.decision.deciding_rule == "outage"
    assert [(r.id, r.result) for r in result.rules] == [
        ("angry-customer", "matched"), ("influencer", "failed"), ("outage-after-hours", "failed"),
        ("outage", "matched"), ("invoice-number", "not_evaluated")]
    reasons = {r.id: r.reason for r in result.rules}
    assert reasons["influencer"] == "author.followers: gte 10000: author.followers is 20"
    assert reasons["outage-after-hours"] == \
        "time: not_in_calendar office: office is open at 2026-03-02T09:15:00+00:00"
    assert reasons["outage"] == "all conditions hold (decides): 'STORING' at 9-16"
    assert reasons["invoice-number"] == "after deciding rule outage"
    assert result.to_json()["rules"][1] == {"id": "influencer", "result": "failed",
                                            "reason": "author.followers: gte 10000: author.followers is 20"}
    assert result.to_json()["decision"] == result.decision.to_json()


def test_failed_reason_names_the_first_failing_condition(tmp_path: Path) -> None:
    rules = """\
rules:
  - id: r
    order: 1
    when:
      channel: {eq: x}
      text: {contains_any: [list:outage_nl, list:outage_en]}
      language: {eq: nl}
  - {id: a, order: 2, when: {any: [{channel: facebook}, {not: {channel: x}}]}}
  - {id: c, order: 3, when: {text: {contains_all: [list:outage_nl, kapot]}}}
  - {id: n, order: 4, when: {text: {not_contains_any: [hallo, hoi]}}}
  - {id: m, order: 5, when: {author.handle: {exists: true}}}
"""
    lists = {"outage_nl": "list: outage_nl\nitems: [storing]\n", "outage_en": "list: outage_en\nitems: [outage]\n"}
    ruleset = load_ruleset(write_folder(tmp_path, rules=rules, lists=lists))
    result = explain(ruleset, mention("Hoi, storing", channel="x"), MONDAY_NIGHT)
    assert [r.reason for r in result.rules] == [
        "language: eq nl: language is missing",
        "any: none matched (channel: eq facebook: channel is 'x'; not: channel: eq x matched)",
        "text: contains_all [list:outage_nl, kapot]: kapot not found",
        "text: not_contains_any [hallo, hoi]: hoi found",
        "author.handle: exists true: author.handle is missing",
    ]
    result = explain(ruleset, mention("Hoi", channel="x"), MONDAY_NIGHT)
    assert result.rules[0].reason == "text: contains_any [list:outage_nl, list:outage_en] not found"


def test_explain_and_classify_agree() -> None:
    from app.rules import classify

    ruleset = load_ruleset(GOOD)
    for text in ["storing", "INV-123456", "niks", "is down 😡"]:
        m = mention(text, followers=50000)
        assert explain(ruleset, m, MONDAY_NIGHT).decision == classify(ruleset, m, MONDAY_NIGHT)


def test_rule_tests_of_the_good_fixture_pass() -> None:
    results = run_rule_tests(load_ruleset(GOOD), now=MONDAY_MORNING)
    assert [(r.name, r.passed, r.why) for r in results] == [
        ("'storingsvrij' is praise, not an outage", True, ""),
        ("Outage at night", True, ""),
        ("Outage in office hours, by an influencer", True, ""),
        ("Invoice number is billing", True, ""),
    ]
    assert {r.file for r in results} == {"tests/routing.yaml"}


def test_failing_rule_tests_say_why(tmp_path: Path) -> None:
    tests = """\
tests:
  - name: wrong
    mention: {text: "storing 😡", channel: x}
    expect:
      department: billing
      priority: P3
      tags: [outage]
      notify: [press]
      matched_rules: [outage]
      not_matched_rules: [angry-customer]
  - name: uses the runner's now
    mention: {text: "storing", channel: x}
    expect: {matched_rules: [outage-after-hours]}
"""
    folder = tmp_path / "rr"
    for src in GOOD.rglob("*.yaml"):
        target = folder / src.relative_to(GOOD)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(src.read_bytes())
    (folder / "tests" / "routing.yaml").write_text(tests)
    ruleset = load_ruleset(folder)
    wrong, by_now = run_rule_tests(ruleset, now=MONDAY_NIGHT)
    assert not wrong.passed
    assert wrong.why == (
        "department: expected billing, got network; priority: expected P3, got P2; "
        "tags: expected {outage}, got {negative, outage}; notify: expected {press}, got {}; "
        "matched_rules: expected [outage], got [angry-customer, outage-after-hours]; "
        "not_matched_rules: angry-customer matched")
    assert by_now.passed
    assert not run_rule_tests(ruleset, now=MONDAY_MORNING)[1].passed


def test_case_now_wins_over_file_now_over_runner_now() -> None:
    ruleset = load_ruleset(GOOD)
    night = next(t for t in ruleset.tests if t.name == "Outage at night")
    assert night.now is not None and night.now.isoformat() == "2026-03-02T23:40:00+01:00"
    other = next(t for t in ruleset.tests if t.name == "Invoice number is billing")
    assert other.now is not None and other.now.isoformat() == "2026-03-02T10:15:00+01:00"
    assert other.connector == "kpn-facebook" and other.mention.external_id == "m-1"
    assert dataclasses.replace(night).mention.author.followers == 120
