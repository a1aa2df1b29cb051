"""Loading and checking a folder: every problem at its exact place, discovery, version."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from app.rules import RuleSetError, check_ruleset, load_ruleset
from app.rules.version import ruleset_version
from tests.rules.support import BROKEN, GOOD, write_folder

B = "tests/rules/fixtures/broken"
BROKEN_PROBLEMS = [
    f"{B}/connectors.yaml:2:5: error: connector 'fb': kind 'meta' needs 'verify_token_env'",
    f"{B}/connectors.yaml:3:54: error: connector 'tg': kind 'telegram' does not use 'include_retweets' "
    "(it takes: secret_token_env, access_token_env, max_body_bytes)",
    f"{B}/connectors.yaml:4:23: error: connector 'odd': unknown kind 'carrier-pigeon' "
    "(known: meta, whatsapp, x, telegram, standard)",
    f"{B}/departments.yaml:1:24: error: unknown department 'webcar' (known: billing, network, webcare)",
    f"{B}/departments.yaml:1:61: error: defaults.priority: 'P9' is not one of P1, P2, P3, P4",
    f"{B}/departments.yaml:4:10: error: duplicate department 'webcare' (first defined at departments.yaml:3:10)",
    f"{B}/departments.yaml:5:29: error: unknown calendar 'nowhere' (known: always, office)",
    f"{B}/departments.yaml:5:38: error: department: unknown key 'colour' (allowed: id, calendar, name, webhook)",
    f"{B}/departments.yaml:8:20: error: department 'network': webhook url must start with https:// or http://",
    f"{B}/departments.yaml:8:43: error: department 'network': secret_env: 'lower_case' is not an environment "
    "variable name (A-Z, 0-9, _)",
    f"{B}/departments.yaml:8:64: error: department 'network': unknown event type 'case.exploded' (known: "
    "case.handed_off, case.updated, case.mention_added, case.rerouted, case.resolved, case.closed, "
    "case.reopened, case.notified, sla.warning, sla.breached, sla.escalated, feedback.received, incident.opened, "
    "incident.updated, incident.closed, ping)",
    f"{B}/extra/foo.yaml:1:1: warning: ignored: YAML files are read only as departments.yaml, sla.yaml, "
    "connectors.yaml, incidents.yaml or directly in lists/, rules/ and tests/",
    f"{B}/lists/a.yaml:2:16: error: list 'a': item '*' has nothing left to match after folding",
    f"{B}/lists/b.yaml:2:11: error: list 'b': include cycle a -> b -> a",
    f"{B}/lists/c.yaml:2:8: error: list 'c': match must be word, prefix or substring",
    f"{B}/lists/c.yaml:4:11: error: unknown list 'zzz' (known: a, b, c)",
    f"{B}/lists/d.yaml:3:1: error: YAML syntax error: while parsing a flow sequence expected ',' or ']', "
    "but got '<stream end>'",
    f"{B}/rules/r.yaml:5:29: error: unknown list 'nope' (known: a, b, c)",
    f"{B}/rules/r.yaml:5:50: error: rule 'one': when: text: matches: look-around '(?=' at offset 0 is not "
    "supported (RE2)",
    f"{B}/rules/r.yaml:6:7: error: rule 'one': when: unknown field 'colour' (fields: text, language, channel, "
    "is_private, author.handle, author.followers, author.verified, sentiment, time, connector, account; any, all, not)",
    f"{B}/rules/r.yaml:7:24: error: unknown department 'nowhere' (known: billing, network, webcare)",
    f"{B}/rules/r.yaml:9:12: error: rule 'two': order 10 is also used by rule 'one' (rules/r.yaml:3:12)",
    f"{B}/rules/r.yaml:12:30: error: rule 'two': when: author.followers: gt: expected a number",
    f"{B}/rules/r.yaml:13:12: error: rule 'two': a continue rule may only set tags, notify and "
    "priority: {raise_to: Pn}, not 'department'",
    f"{B}/rules/r.yaml:13:43: error: rule 'two': a continue rule can only raise the priority: "
    "priority: {raise_to: P1}",
    f"{B}/rules/r.yaml:14:9: error: duplicate rule 'one' (first defined at rules/r.yaml:2:9)",
    f"{B}/rules/r.yaml:18:28: error: rule 'three': when: text: matches: invalid RE2 pattern: missing ]: [a",
    f"{B}/rules/r.yaml:18:55: error: unknown calendar 'lunch' (known: always, office)",
    f"{B}/rules/r.yaml:19:33: error: rule 'three': raise_to 'P7' is not one of P1, P2, P3, P4",
    f"{B}/rules/r.yaml:19:47: error: unknown department 'ghost' (known: billing, network, webcare)",
    f"{B}/rules/r.yaml:19:67: error: unknown sla_policy 'fast' (known: standard)",
    f"{B}/rules/r.yaml:19:73: error: rule 'three': then: unknown key 'unknown' (allowed: department, category, "
    "priority, sla_policy, tags, notify)",
    f"{B}/rules/r.yaml:20:5: error: duplicate key 'then'",
    f"{B}/sla.yaml:4:15: error: calendar 'office': unknown time zone 'Mars/Olympus' (use an IANA name)",
    f"{B}/sla.yaml:5:38: error: calendar 'office': 12:00-18:00 overlaps 08:00-12:30 (sla.yaml:5:23) "
    "on mon, tue, wed, thu, fri",
    f"{B}/sla.yaml:5:54: error: calendar 'office': 'funday' is not a day or day range (mon..sun, e.g. mon-fri)",
    f"{B}/sla.yaml:6:25: error: calendar 'office': 'XX' is not a country code the holidays package knows",
    f"{B}/sla.yaml:9:52: error: policy 'standard': first_response: P4: '4x' is not a duration like 30s, 15m, "
    "4h or 2d",
    f"{B}/sla.yaml:10:21: error: policy 'standard': next_response: missing key 'P4'",
    f"{B}/sla.yaml:13:14: error: policy 'standard': warn_at: must be above 0% and at most 100%",
    f"{B}/sla.yaml:15:17: error: policy 'standard': unknown timer 'first_reply' (known: first_response, "
    "next_response, department_ack, resolution)",
    f"{B}/sla.yaml:16:58: error: unknown department 'legal' (known: billing, network, webcare)",
    f"{B}/tests/t.yaml:1:6: error: now: '2026-03-02T10:15:00' has no UTC offset; add one, e.g. "
    "2026-03-02T10:15:00Z or 2026-03-02T10:15:00+01:00",
    f"{B}/tests/t.yaml:4:57: error: test 'bad mention': mention author.followers: Input should be greater than "
    "or equal to 0",
    f"{B}/tests/t.yaml:5:26: error: unknown department 'nowhere' (known: billing, network, webcare)",
    f"{B}/tests/t.yaml:5:51: error: unknown rule 'ghost-rule' (known: one, three, two)",
]


def test_broken_folder_reports_every_problem_at_its_place(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(Path(__file__).parents[2])
    ruleset, problems = check_ruleset(Path(B))
    assert ruleset is None
    assert [str(p) for p in problems] == BROKEN_PROBLEMS


def test_load_ruleset_raises_with_all_problems() -> None:
    with pytest.raises(RuleSetError) as caught:
        load_ruleset(BROKEN)
    assert len(caught.value.problems) == len(BROKEN_PROBLEMS)


def test_good_folder_loads() -> None:
    ruleset, problems = check_ruleset(GOOD)
    assert problems == []
    assert ruleset is not None
    assert ruleset.triage_department == "webcare"
    assert [r.id for r in ruleset.rules] == ["angry-customer", "influencer", "outage-after-hours", "outage",
                                             "invoice-number"]
    assert ruleset.files == (
        "connectors.yaml", "departments.yaml", "lists/angry.yaml", "lists/outage_en.yaml", "lists/outage_nl.yaml",
        "lists/praise.yaml", "rules/10-signals.yaml", "rules/20-routing.yaml", "sla.yaml", "tests/routing.yaml")
    billing = ruleset.departments["billing"]
    assert billing.webhook is not None
    assert billing.webhook.previous_secret_env == "BILLING_WEBHOOK_SECRET_OLD"
    assert billing.webhook.events == ("case.handed_off", "case.updated", "case.resolved", "sla.warning",
                                      "sla.breached")
    assert ruleset.departments["webcare"].webhook is None
    x = ruleset.connectors["kpn-x"]
    assert (x.kind, x.consumer_secret_env, x.access_token_env, x.secret_env, x.include_retweets) == \
        ("x", "X_CONSUMER_SECRET", "X_TOKEN", None, False)
    standard = ruleset.policies["standard"]
    assert str(standard.duration("department_ack", "P4")) == "1d"
    assert standard.duration("first_response", "P3").open_seconds == 3600
    assert standard.warn_at == 0.75 and standard.calendar is None
    assert [(s.timer, s.after, s.raise_priority, s.handoff_to, s.tag, s.notify) for s in standard.escalation] == [
        ("first_response", 1.0, 1, None, None, True), ("department_ack", 1.5, None, "webcare", "ack-overdue", False)]
    assert ruleset.policies["urgent"].calendar == "always"
    assert ruleset.calendars["office"].holiday_country == "NL"
    assert ruleset.lists["outage_nl"].include == ("outage_en",)
    assert ruleset.summary()["counts"] == {"rules": 5, "lists": 4, "departments": 4, "connectors": 3,
                                           "calendars": 2, "policies": 2, "tests": 4, "incidents": 0, "series": 0}


def test_version_is_sha256_over_sorted_paths_and_bytes() -> None:
    ruleset = load_ruleset(GOOD)
    digest = hashlib.sha256()
    for rel in sorted(ruleset.files, key=str.encode):
        digest.update(rel.encode() + b"\0" + (GOOD / rel).read_bytes() + b"\0")
    assert ruleset.version == "rs-" + digest.hexdigest()[:12]


def test_version_matches_a_digest_computed_by_hand() -> None:
    # printf 'departments.yaml\0A\0lists/x.yaml\0C\0sla.yaml\0B\0' | sha256sum
    files = [("sla.yaml", b"B"), ("lists/x.yaml", b"C"), ("departments.yaml", b"A")]
    assert ruleset_version(files) == "rs-95f05bcdef09"


def test_version_changes_with_content_and_not_with_ignored_files(tmp_path: Path) -> None:
    first = load_ruleset(write_folder(tmp_path)).version
    (tmp_path / "README.md").write_text("notes")
    (tmp_path / "lists" / ".draft.yaml").parent.mkdir(exist_ok=True)
    (tmp_path / "lists" / ".draft.yaml").write_text("not: read")
    assert load_ruleset(tmp_path).version == first
    (tmp_path / "rules" / "rules.yaml").write_text("rules: []  # changed\n")
    assert load_ruleset(tmp_path).version != first


def test_discovery_reads_yml_skips_hidden_and_warns_about_stray_yaml(tmp_path: Path) -> None:
    write_folder(tmp_path, extra={
        "lists/extra.yml": "list: extra\nitems: [x]\n",
        "rules/.off.yaml": "this is: [not read",
        "rules/sub/deep.yaml": "rules: []\n",
        "notes.yaml": "a: 1\n",
        ".git/config.yaml": "a: 1\n",
    })
    ruleset, problems = check_ruleset(tmp_path)
    assert ruleset is not None
    assert "lists/extra.yml" in ruleset.files
    assert [(Path(p.path).relative_to(tmp_path).as_posix(), p.severity) for p in problems] == [
        ("notes.yaml", "warning"), ("rules/sub/deep.yaml", "warning")]


def test_missing_top_level_files_are_errors(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    _, problems = check_ruleset(tmp_path)
    assert [(Path(p.path).name, p.line, p.col, p.message) for p in problems] == [
        ("departments.yaml", 1, 1, "missing file"), ("sla.yaml", 1, 1, "missing file")]


def test_not_a_directory(tmp_path: Path) -> None:
    _, problems = check_ruleset(tmp_path / "nope")
    assert [str(p) for p in problems] == [f"{tmp_path / 'nope'}:1:1: error: not a directory"]


def test_problem_paths_join_the_folder_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_folder(tmp_path / "rr", rules="rules:\n  - {id: a, order: 1, then: {department: nope}}\n")
    monkeypatch.chdir(tmp_path)
    _, problems = check_ruleset(Path("rr"))
    assert [str(p) for p in problems] == [
        "rr/rules/rules.yaml:2:42: error: unknown department 'nope' (known: billing, network, press, webcare)"]


@pytest.mark.parametrize(("rules", "expected"), [
    ("rules:\n  - {id: a, order: 1, when: {text: {contains_any: []}}}\n",
     ["2:51: error: rule 'a': when: text: contains_any: needs at least one entry"]),
    ("rules:\n  - {id: a, order: 1, when: {is_private: {gt: 1}}}\n",
     ["2:43: error: rule 'a': when: is_private: unknown key 'gt' (allowed: eq, ne, in, not_in, exists)"]),
    ("rules:\n  - {id: a, order: 1, when: {text: {cased: true}}}\n",
     ["2:36: error: rule 'a': when: text: needs an operator besides cased"]),
    ("rules:\n  - {id: a, order: 1, when: {text: {matches: '(a)\\1'}}}\n",
     ["2:46: error: rule 'a': when: text: matches: back-reference '\\1' at offset 3 is not supported (RE2)"]),
    ("rules:\n  - {id: a, order: 1, when: {time: {in_calendar: office, gt: 3}}}\n",
     ["2:58: error: rule 'a': when: time: unknown key 'gt' (allowed: in_calendar, not_in_calendar, exists)"]),
    ("rules:\n  - {id: a, order: 1.5}\n",
     ["2:20: error: rule 'a': order must be a whole number"]),
    ("rules:\n  - {id: 'a b', order: 1}\n",
     ["2:10: error: rule id: 'a b' must be letters, digits, '_', '.' or '-'"]),
    ("rules:\n  - {id: a, order: 1, then: {priority: {raise_to: P1}, tags: x}}\n",
     ["2:62: error: rule 'a': then.tags: expected a list"]),
    ("rules:\n  - {id: a, order: 1, continue: yes, then: {category: x, tags: [t]}}\n",
     ["2:45: error: rule 'a': a continue rule may only set tags, notify and priority: {raise_to: Pn}, "
      "not 'category'"]),
    ("rules:\n  - id: a\n    order: 1\n    when: {any: []}\n",
     ["4:17: error: rule 'a': when: any needs at least one condition"]),
    ("rules: {}\n", ["1:8: error: rules: expected a list"]),
    ("", ["1:1: error: empty file: expected 'rules'"]),
    ("rules: [\n", ["2:1: error: YAML syntax error: while parsing a flow node expected the node content, "
                    "but found '<stream end>'"]),
])
def test_rule_problems(tmp_path: Path, rules: str, expected: list[str]) -> None:
    write_folder(tmp_path, rules=rules)
    _, problems = check_ruleset(tmp_path)
    prefix = f"{tmp_path}/rules/rules.yaml:"
    assert [str(p).removeprefix(prefix) for p in problems] == expected


def test_list_include_of_unknown_list_and_self_cycle(tmp_path: Path) -> None:
    write_folder(tmp_path, lists={"a": "list: a\nitems: [x]\ninclude: [a, b]\n"})
    _, problems = check_ruleset(tmp_path)
    assert [(p.line, p.col, p.message) for p in problems] == [
        (3, 11, "list 'a': include cycle a -> a"), (3, 14, "unknown list 'b' (known: a)")]


def test_duplicate_list_names_are_reported_at_the_second(tmp_path: Path) -> None:
    write_folder(tmp_path, lists={"a": "list: same\nitems: [x]\n", "b": "list: same\nitems: [y]\n"})
    _, problems = check_ruleset(tmp_path)
    assert [str(p).removeprefix(str(tmp_path) + "/") for p in problems] == [
        "lists/b.yaml:1:7: error: duplicate list 'same' (first defined at lists/a.yaml:1:7)"]


def test_calendar_and_policy_problems(tmp_path: Path) -> None:
    sla = """\
calendars:
  office:
    timezone: Europe/Amsterdam
    hours: {mon: ["09:00-17:00", "18:00-09:00"], tue: ["09:00-25:00"], "sat,sun": ["10:00-12:00"]}
    closed: ["2026-12-24", "2026-12-25/2026-12-24", "soon"]
    holidays: {country: NL, subdiv: XX}
policies:
  standard:
    first_response: {P1: 15m, P2: 30m, P3: 1h, P4: 0h}
    next_response: {P1: 30m, P2: 1h, P3: 2h, P4: 8h}
    department_ack: {P1: 30m, P2: 2h, P3: 4h, P4: 1d}
    resolution: {P1: 4h, P2: 1d, P3: 2d, P4: 5d}
    calendar: nope
    escalation:
      - {timer: resolution, after: 100%}
"""
    departments = "defaults: {department: webcare, category: general, priority: P3, sla_policy: standard}\n" \
                  "departments:\n  - {id: webcare, calendar: office}\n"
    write_folder(tmp_path, sla=sla, departments=departments)
    _, problems = check_ruleset(tmp_path)
    assert [str(p).removeprefix(f"{tmp_path}/sla.yaml:") for p in problems] == [
        "4:34: error: calendar 'office': interval '18:00-09:00' ends before it starts (use 24:00 for midnight)",
        "4:56: error: calendar 'office': '25:00' is not a time of day HH:MM",
        "5:28: error: calendar 'office': closed period '2026-12-25/2026-12-24' ends before it starts",
        "5:53: error: calendar 'office': 'soon' is not a date or date-time",
        "6:37: error: calendar 'office': 'XX' is not a subdivision of NL",
        "9:52: error: policy 'standard': first_response: P4: '0h' is not a duration like 30s, 15m, 4h or 2d",
        "13:15: error: unknown calendar 'nope' (known: office)",
        "15:9: error: policy 'standard': an escalation step needs raise_priority, handoff_to, tag or notify",
    ]


def test_connector_kinds(tmp_path: Path) -> None:
    connectors = """\
connectors:
  - {name: wa, kind: whatsapp, app_secret_env: A, verify_token_env: V, access_token_env: T}
  - {name: tg, kind: telegram, secret_token_env: S}
  - {name: x, kind: x, consumer_secret_env: C, include_retweets: maybe}
  - {name: std, kind: standard, secret_env: W, access_token_env: T}
  - {name: wa, kind: standard, secret_env: W}
"""
    write_folder(tmp_path, connectors=connectors)
    _, problems = check_ruleset(tmp_path)
    assert [str(p).removeprefix(f"{tmp_path}/connectors.yaml:") for p in problems] == [
        "4:66: error: connector 'x': include_retweets: expected true or false",
        "5:48: error: connector 'std': kind 'standard' does not use 'access_token_env' (it takes: secret_env)",
        "6:12: error: duplicate connector 'wa' (first defined at connectors.yaml:2:12)",
    ]


def test_connector_accounts(tmp_path: Path) -> None:
    """Any kind may name its accounts (display names by account id) and the account its mentions
    reach when the platform does not say; rules check reports bad ones at their place."""
    connectors = """\
connectors:
  - {name: tg, kind: telegram, secret_token_env: S, account: "700", accounts: {"700": "@Bot", 12: Zakelijk}}
  - {name: std, kind: standard, secret_env: W, accounts: [brand]}
  - {name: wa, kind: whatsapp, app_secret_env: A, verify_token_env: V, accounts: {"1": " "}}
"""
    write_folder(tmp_path, connectors=connectors)
    _, problems = check_ruleset(tmp_path)
    assert [str(p).removeprefix(f"{tmp_path}/connectors.yaml:") for p in problems] == [
        "3:58: error: connector 'std': accounts: expected a mapping",
        "4:88: error: connector 'wa': accounts: '1' needs a display name",
    ]
    (tmp_path / "connectors.yaml").write_text(connectors.splitlines(keepends=True)[0] + connectors.splitlines(
        keepends=True)[1])
    telegram = load_ruleset(tmp_path).connectors["tg"]
    assert (telegram.account, dict(telegram.accounts)) == ("700", {"700": "@Bot", "12": "Zakelijk"})
    assert (telegram.account_name("12"), telegram.account_name("13"), telegram.account_name(None)) == \
        ("Zakelijk", None, None)


def test_connector_body_limits(tmp_path: Path) -> None:
    connectors = """\
connectors:
  - {name: tg, kind: telegram, secret_token_env: S, max_body_bytes: 65536}
  - {name: x, kind: x, consumer_secret_env: C, max_body_bytes: 2MiB}
  - {name: wa, kind: whatsapp, app_secret_env: A, verify_token_env: V, max_body_bytes: 10}
  - {name: std, kind: standard, secret_env: W, max_body_bytes: 4096}
"""
    write_folder(tmp_path, connectors=connectors)
    _, problems = check_ruleset(tmp_path)
    assert [str(p).removeprefix(f"{tmp_path}/connectors.yaml:") for p in problems] == [
        "3:64: error: connector 'x': max_body_bytes: expected an integer",
        "4:88: error: connector 'wa': max_body_bytes must be between 4096 and 67108864 bytes",
        "5:48: error: connector 'std': kind 'standard' does not use 'max_body_bytes' (it takes: secret_env)",
    ]
    write_folder(tmp_path, connectors="connectors:\n  - {name: tg, kind: telegram, secret_token_env: S, "
                                      "max_body_bytes: 65536}\n")
    ruleset, problems = check_ruleset(tmp_path)
    assert problems == [] and ruleset is not None and ruleset.connectors["tg"].max_body_bytes == 65536


def test_test_file_problems(tmp_path: Path) -> None:
    tests = """\
tests:
  - name: no text
    mention: {channel: x, colour: red}
    expect: {}
  - name: fine
    now: 2026-03-02T10:15:00+01:00
    connector: ghost
    mention: {text: hi}
    expect: {priority: P0, tags: [a]}
  - name: fine
    mention: {text: hi, channel: x}
    expect: {category: general}
"""
    write_folder(tmp_path, tests={"t": tests})
    _, problems = check_ruleset(tmp_path)
    assert [str(p).removeprefix(f"{tmp_path}/tests/t.yaml:") for p in problems] == [
        "3:14: error: test 'no text': mention text: Field required",
        "3:27: error: test 'no text': mention colour: Extra inputs are not permitted",
        "4:13: error: test 'no text': expect needs at least one of department, category, priority, sla_policy, "
        "tags, notify, matched_rules, not_matched_rules",
        "7:16: error: unknown connector 'ghost' (known: listening-tool)",
        "8:14: error: test 'fine': mention channel: Field required",
        "9:24: error: test 'fine': expect.priority 'P0' is not one of P1, P2, P3, P4",
        "10:11: warning: test name 'fine' is used twice (first at tests/t.yaml:5:11)",
    ]
