"""The evaluator (SPEC §1 "Rules", "Evaluation", "Sentiment"): condition tables and decision assembly."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from app.rules import RuleSet, classify, load_ruleset
from tests.rules.support import MONDAY_MORNING, MONDAY_NIGHT, mention, write_folder

LISTS = {
    "outage": "list: outage\nweight: -1\nitems: [storing, 'ligt eruit']\ninclude: [outage_en]\n",
    "outage_en": "list: outage_en\nitems: [outage, 'is down']\n",
    "angry": "list: angry\nmatch: substring\nweight: -2\nitems: ['😡', belachelijk]\n",
    "happy": "list: happy\nmatch: prefix\nweight: 3\nitems: [top]\n",
}


def one_rule(tmp_path: Path, when: str) -> RuleSet:
    rules = f"rules:\n  - id: r\n    order: 1\n    when: {when}\n    then: {{department: network}}\n"
    return load_ruleset(write_folder(tmp_path, rules=rules, lists=LISTS))


M = mention
CASES: list[tuple[str, dict[str, Any], bool]] = [
    # strings compare folded
    ("{language: {eq: NL}}", {"language": "nl"}, True),
    ("{language: {eq: nl, cased: true}}", {"language": "NL"}, False),
    ("{channel: x}", {"channel": "x"}, True),                                  # shorthand for eq
    ("{channel: {in: [Facebook, x]}}", {"channel": "facebook"}, True),
    ("{channel: {not_in: [facebook, x]}}", {"channel": "telegram"}, True),
    ("{channel: {ne: x}}", {"channel": "x"}, False),
    ("{author.handle: {starts_with: '@KPN'}}", {"handle": "@kpnwebcare"}, True),
    ("{author.handle: {starts_with: [nope, '@kpn'], cased: true}}", {"handle": "@KPNwebcare"}, False),
    ("{text: {starts_with: 'één'}}", {"text": "EEN vraag"}, True),
    # missing fields satisfy only ne, not_in, not_contains_any and exists: false
    ("{language: {ne: nl}}", {}, True),
    ("{language: {not_in: [nl]}}", {}, True),
    ("{language: {not_contains_any: [nl]}}", {}, True),
    ("{language: {exists: false}}", {}, True),
    ("{language: {exists: true}}", {}, False),
    ("{language: {eq: nl}}", {}, False),
    ("{language: {in: [nl]}}", {}, False),
    ("{language: {contains_any: [nl]}}", {}, False),
    ("{language: {starts_with: n}}", {}, False),
    ("{language: {matches: '.'}}", {}, False),
    ("{author.followers: {lt: 100}}", {}, False),
    ("{author.followers: {ne: 100}}", {}, True),
    ("{author.verified: {eq: false}}", {}, False),
    ("{connector: {exists: false}}", {}, True),
    ("{language: {exists: false}}", {"language": "nl"}, False),
    # numbers and booleans
    ("{author.followers: {gte: 10000}}", {"followers": 10000}, True),
    ("{author.followers: {gt: 10000}}", {"followers": 10000}, False),
    ("{author.followers: {lte: 5, gte: 1}}", {"followers": 3}, True),
    ("{author.followers: {in: [1, 2, 3]}}", {"followers": 2}, True),
    ("{author.verified: {eq: true}}", {"verified": True}, True),
    ("{is_private: {eq: true}}", {"private": True}, True),
    ("{is_private: {eq: true}}", {}, False),
    # keyword matching on text
    ("{text: {contains_any: [list:outage]}}", {"text": "Al uren STORING!!"}, True),
    ("{text: {contains_any: [list:outage]}}", {"text": "storingsvrij"}, False),
    ("{text: {contains_any: [list:outage]}}", {"text": "the site IS   DOWN"}, True),        # included list
    ("{text: {contains_any: [storing]}}", {"text": "#storing"}, True),                   # literal item
    ("{text: {contains_any: ['verbind*']}}", {"text": "verbindingen"}, True),
    ("{text: {contains_all: [list:outage, list:angry]}}", {"text": "storing 😡"}, True),
    ("{text: {contains_all: [list:outage, list:angry]}}", {"text": "storing"}, False),
    ("{text: {contains_all: [ligt, eruit]}}", {"text": "eruit ligt"}, True),
    ("{text: {not_contains_any: [list:angry]}}", {"text": "storing"}, True),
    ("{text: {not_contains_any: [list:angry]}}", {"text": "BELACHELIJK"}, False),
    ("{text: {contains_any: [KPN], cased: true}}", {"text": "bij kpn"}, False),
    ("{text: {contains_any: [KPN], cased: true}}", {"text": "bij KPN."}, True),
    ("{text: {contains_any: [list:outage], cased: true}}", {"text": "STORING"}, False),
    ("{text: {contains_any: [list:outage], cased: true}}", {"text": "een storing"}, True),
    # regular expressions: RE2, on the original text, case-insensitive unless cased
    (r"{text: {matches: 'kpn\d'}}", {"text": "KPN5 doet het niet"}, True),
    (r"{text: {matches: 'kpn\d', cased: true}}", {"text": "KPN5"}, False),
    (r"{text: {matches: 'geïrriteerd'}}", {"text": "geirriteerd"}, False),          # original, not folded
    # nesting
    ("{any: [{channel: x}, {channel: telegram}]}", {"channel": "telegram"}, True),
    ("{any: [{channel: x}, {channel: telegram}]}", {"channel": "facebook"}, False),
    ("{all: [{channel: x}, {language: nl}]}", {"channel": "x", "language": "nl"}, True),
    ("{all: [{channel: x}, {language: nl}]}", {"channel": "x"}, False),
    ("{not: {channel: x}}", {"channel": "x"}, False),
    ("{not: {any: [{language: nl}, {language: en}]}}", {"language": "de"}, True),
    ("{channel: x, not: {text: {contains_any: [list:outage]}}}", {"text": "top!"}, True),
    # sentiment: weight × every occurrence of the list's own items
    ("{sentiment: {eq: -6}}", {"text": "storing 😡😡 storing... outage"}, True),  # -1×2 + -2×2
    ("{sentiment: {gte: 3}}", {"text": "Topservice"}, True),
    ("{sentiment: {eq: 0}}", {"text": "is down"}, True),     # included items do not carry the weight
]


@pytest.mark.parametrize(("when", "fields", "expected"), CASES)
def test_condition_table(tmp_path: Path, when: str, fields: dict[str, Any], expected: bool) -> None:
    ruleset = one_rule(tmp_path, when)
    decision = classify(ruleset, mention(**fields), MONDAY_MORNING)
    assert (decision.department == "network") is expected
    assert (decision.matched_rules == ("r",)) is expected


@pytest.mark.parametrize(("when", "now", "expected"), [
    ("{time: {in_calendar: office}}", MONDAY_MORNING, True),
    ("{time: {in_calendar: office}}", MONDAY_NIGHT, False),
    ("{time: {not_in_calendar: office}}", MONDAY_NIGHT, True),
    ("{time: {not_in_calendar: always}}", MONDAY_NIGHT, False),
])
def test_time_in_calendar(tmp_path: Path, when: str, now: datetime, expected: bool) -> None:
    decision = classify(one_rule(tmp_path, when), mention(), now)
    assert (decision.department == "network") is expected


@pytest.mark.parametrize(("connector", "expected"), [("listening-tool", True), (None, False), ("other", False)])
def test_connector_field(tmp_path: Path, connector: str | None, expected: bool) -> None:
    ruleset = one_rule(tmp_path, "{connector: {eq: listening-tool}}")
    decision = classify(ruleset, mention(), MONDAY_MORNING, connector=connector)
    assert (decision.department == "network") is expected



@pytest.mark.parametrize(("when", "account", "expected"), [
    ("{account: {eq: '106540352242999'}}", "106540352242999", True),
    ("{account: {in: [brand-nl, jobs-nl]}}", "Jobs-NL", True),  # folded, as every string field
    ("{account: {eq: brand-nl}}", None, False),
    ("{account: {ne: brand-nl}}", None, True),  # a missing field satisfies only ne, not_in, ...
    ("{account: {exists: false}}", None, True),
    ("{account: {starts_with: jobs}}", "jobs-nl", True),
])
def test_account_field(tmp_path: Path, when: str, account: str | None, expected: bool) -> None:
    decision = classify(one_rule(tmp_path, when), replace(mention(), account=account), MONDAY_MORNING)
    assert (decision.department == "network") is expected
RULES = """\
rules:
  - {id: tag-x, order: 10, when: {channel: x}, then: {tags: [social, x]}, continue: true}
  - id: raise-angry
    order: 20
    when: {sentiment: {lte: -2}}
    then: {tags: [negative, social], notify: [press], priority: {raise_to: P2}}
    continue: true
  - id: outage
    order: 30
    when: {text: {contains_any: [list:outage]}}
    then: {department: network, category: outage, tags: [outage]}
  - {id: later-outage, order: 40, when: {text: {contains_any: [storing]}}, then: {department: billing}}
  - {id: vip, order: 50, when: {author.verified: {eq: true}}, then: {priority: P1, notify: [press, billing]}}
  - {id: raise-low, order: 5, when: {channel: telegram}, then: {priority: {raise_to: P4}}, continue: true}
"""


@pytest.fixture
def routing(tmp_path: Path) -> RuleSet:
    return load_ruleset(write_folder(tmp_path, rules=RULES, lists=LISTS))


def test_defaults_decide_when_no_rule_matches(routing: RuleSet) -> None:
    d = classify(routing, mention("vraagje", channel="facebook"), MONDAY_MORNING)
    assert (d.department, d.category, d.priority, d.sla_policy) == ("webcare", "general", "P3", "standard")
    assert d.matched_rules == () and d.deciding_rule is None and d.tags == () and d.notify == ()
    assert d.ruleset_version == routing.version


def test_continue_rules_add_and_the_first_other_match_decides(routing: RuleSet) -> None:
    d = classify(routing, mention("storing 😡", channel="x"), MONDAY_MORNING)
    assert d.matched_rules == ("tag-x", "raise-angry", "outage")
    assert d.deciding_rule == "outage"                       # later-outage also matches but is never evaluated
    assert (d.department, d.category, d.sla_policy) == ("network", "outage", "standard")
    assert d.priority == "P2"                                # defaults P3 raised by raise-angry
    assert d.tags == ("social", "x", "negative", "outage")   # order of first addition, unique
    assert d.notify == ("press",)
    assert d.sentiment == -3


def test_raise_never_lowers(routing: RuleSet) -> None:
    d = classify(routing, mention("hoi", channel="telegram", verified=True), MONDAY_MORNING)
    assert d.matched_rules == ("raise-low", "vip")
    assert d.priority == "P1"
    assert d.notify == ("press", "billing")


def test_continue_rules_alone_leave_defaults_deciding(routing: RuleSet) -> None:
    d = classify(routing, mention("belachelijk", channel="x"), MONDAY_MORNING)
    assert d.deciding_rule is None
    assert d.department == "webcare" and d.priority == "P2"


def test_spans_are_original_code_point_offsets(routing: RuleSet) -> None:
    text = "Straße 😡: STORING, ﬁx dat! storing"
    d = classify(routing, mention(text, channel="facebook"), MONDAY_MORNING)
    assert d.deciding_rule == "outage"
    assert [(s.rule_id, text[s.start:s.end]) for s in d.spans] == [("outage", "STORING"), ("outage", "storing")]


def test_regex_and_starts_with_spans(tmp_path: Path) -> None:
    rules = """\
rules:
  - {id: re, order: 1, when: {text: {matches: 'inv-\\d+'}}, then: {tags: [a]}, continue: true}
  - {id: sw, order: 2, when: {text: {starts_with: 'ÉÉN'}}, then: {tags: [b]}}
"""
    ruleset = load_ruleset(write_folder(tmp_path, rules=rules))
    text = "Één 😡 vraag over INV-42"
    d = classify(ruleset, mention(text), MONDAY_MORNING)
    assert [(s.rule_id, text[s.start:s.end]) for s in d.spans] == [("re", "INV-42"), ("sw", "Één")]


def test_to_json_shape(routing: RuleSet) -> None:
    d = classify(routing, mention("storing", channel="facebook"), MONDAY_MORNING)
    assert d.to_json() == {
        "department": "network", "category": "outage", "priority": "P3", "sla_policy": "standard",
        "tags": ["outage"], "notify": [], "matched_rules": ["outage"], "deciding_rule": "outage",
        "spans": [{"rule_id": "outage", "start": 0, "end": 7}], "sentiment": -1,
        "ruleset_version": routing.version}


def test_naive_now_is_refused(routing: RuleSet) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        classify(routing, mention(), datetime(2026, 3, 2, 10, 0))


def test_classify_is_fast(routing: RuleSet) -> None:
    import time
    m = mention("Al drie uur storing bij jullie, echt belachelijk 😡 " * 4, channel="x", followers=10)
    classify(routing, m, MONDAY_MORNING)
    start = time.perf_counter()
    for _ in range(200):
        classify(routing, m, MONDAY_MORNING)
    per_call = (time.perf_counter() - start) / 200
    assert per_call < 0.002   # generous for CI; typically tens of microseconds
