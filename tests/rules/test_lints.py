"""Lints of `webcare rules check`: each one triggered by a small folder, at its exact place, and
silent on the example folder (so a lint that fires on good rules fails here)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from app.cli import cli
from app.rules import check_ruleset
from tests.rules.support import ROUTE_EVERY_DEPARTMENT, SLA, write_folder

REPO = Path(__file__).parents[2]
runner = CliRunner()


def lints(root: Path, code: str) -> list[str]:
    ruleset, problems = check_ruleset(root, lint=True)
    assert ruleset is not None, [str(p) for p in problems]
    assert all(p.severity == "warning" for p in problems)
    return [f"{Path(p.path).relative_to(root).as_posix()}:{p.line}:{p.col}: {p.message}"
            for p in problems if p.code == code]


def folder(tmp_path: Path, rules: str, lists: dict[str, str] | None = None) -> Path:
    return write_folder(tmp_path, rules="rules:\n" + rules + ROUTE_EVERY_DEPARTMENT, lists=lists)


def test_a_rule_behind_a_broader_deciding_rule_is_shadowed(tmp_path: Path) -> None:
    root = folder(tmp_path, """\
  - {id: outage, order: 10, when: {text: {contains_any: [list:outage]}}, then: {department: network}}
  - {id: outage-night, order: 20, when: {text: {contains_any: [storingen]}, time: {not_in_calendar: office}},
     then: {department: network, priority: P2}}
  - {id: outage-tag, order: 30, continue: true, when: {text: {contains_any: ["geen internet"]}},
     then: {tags: [x]}}
""", lists={"outage": "list: outage\nitems: ['storing*', internet]\n"})
    assert lints(root, "shadowed-rule") == [
        "rules/rules.yaml:3:10: rule 'outage-night' is never reached: the earlier rule 'outage' "
        "(rules/rules.yaml:2) decides whenever its conditions hold",
        "rules/rules.yaml:5:10: rule 'outage-tag' is never reached: the earlier rule 'outage' "
        "(rules/rules.yaml:2) decides whenever its conditions hold"]


def test_narrower_continue_or_differently_worded_earlier_rules_shadow_nothing(tmp_path: Path) -> None:
    root = folder(tmp_path, """\
  - {id: tag-all, order: 5, continue: true, when: {}, then: {tags: [seen]}}
  - {id: night, order: 10, when: {text: {contains_any: [storing]}, time: {not_in_calendar: office}},
     then: {department: network}}
  - {id: outage, order: 20, when: {text: {contains_any: [storing]}}, then: {department: network}}
  - {id: outages, order: 30, when: {text: {contains_any: [storingen, storing]}}, then: {department: network}}
  - {id: storing-word, order: 40, when: {text: {contains_any: [storingsmelding]}}, then: {department: network}}
  - {id: big, order: 50, when: {author.followers: {gt: 1000}}, then: {department: press}}
  - {id: bigger, order: 60, when: {author.followers: {gte: 1000}}, then: {department: press}}
""")
    assert lints(root, "shadowed-rule") == []


def test_number_value_and_catch_all_shadowing(tmp_path: Path) -> None:
    root = folder(tmp_path, """\
  - {id: big, order: 10, when: {author.followers: {gte: 1000}}, then: {department: press}}
  - {id: huge, order: 20, when: {author.followers: {gt: 5000}, channel: x}, then: {department: press}}
  - {id: x-or-fb, order: 30, when: {channel: {in: [x, facebook]}}, then: {department: billing}}
  - {id: fb, order: 40, when: {channel: Facebook}, then: {department: billing}}
  - {id: rest, order: 50, then: {department: webcare}}
""")
    found = lints(root, "shadowed-rule")
    assert [line.split(": ")[1].split("'")[1] for line in found] == [
        "huge", "fb", "to-network", "to-billing", "to-press"]
    assert "the earlier rule 'rest'" in found[-1]


def test_lists_nobody_uses(tmp_path: Path) -> None:
    root = folder(tmp_path, """\
  - {id: r, order: 10, when: {text: {contains_any: [list:used]}}, then: {department: network}}
""", lists={"used": "list: used\nitems: [a]\ninclude: [included]\n", "included": "list: included\nitems: [b]\n",
            "weighted": "list: weighted\nweight: -1\nitems: [c]\n", "unused": "list: unused\nitems: [d]\n"})
    assert lints(root, "unused-list") == [
        "lists/unused.yaml:1:7: list 'unused' is not used: no rule names it, no used list includes it and it "
        "has no weight"]


def test_departments_nobody_routes_to(tmp_path: Path) -> None:
    root = write_folder(tmp_path, rules="""\
rules:
  - {id: r, order: 10, when: {channel: y}, then: {department: network, notify: [press]}}
""")
    assert lints(root, "unused-department") == [
        "departments.yaml:5:10: department 'billing' gets no cases: no rule, default or escalation routes to "
        "it and no rule notifies it"]


def test_an_escalation_handoff_routes_to_a_department(tmp_path: Path) -> None:
    handoff = SLA.replace("  urgent: *p\n", "") + """\
  urgent:
    first_response: {P1: 15m, P2: 30m, P3: 1h, P4: 4h}
    next_response: {P1: 30m, P2: 1h, P3: 2h, P4: 8h}
    department_ack: {P1: 30m, P2: 2h, P3: 4h, P4: 1d}
    resolution: {P1: 4h, P2: 1d, P3: 2d, P4: 5d}
    escalation: [{timer: resolution, after: 50%, handoff_to: billing}]
"""
    root = write_folder(tmp_path, sla=handoff, rules="""\
rules:
  - {id: r, order: 10, when: {channel: y}, then: {department: network, notify: [press], sla_policy: urgent}}
""")
    assert lints(root, "unused-department") == []


def test_items_that_fold_to_the_same_text(tmp_path: Path) -> None:
    root = folder(tmp_path, "", lists={"l": "list: l\nweight: 1\nitems: [Storing, geïrriteerd, STÖRING, "
                                              "'geirriteerd ', 'storing*']\n"})
    assert lints(root, "duplicate-item") == [
        "lists/l.yaml:3:31: list 'l': item 'STÖRING' folds to the same text as 'Storing' (lists/l.yaml:3:9)",
        "lists/l.yaml:3:40: list 'l': item 'geirriteerd ' folds to the same text as 'geïrriteerd' "
        "(lists/l.yaml:3:18)"]


def test_items_another_item_of_the_list_covers(tmp_path: Path) -> None:
    lists = {"hw": "list: hw\nmatch: prefix\nitems: [modem, modemkabel, wifi]\n",
             "nl": "list: nl\nitems: [internet, 'geen internet', 'storing*', storingen, 'internetstoring']\n",
             "emoji": "list: emoji\nmatch: substring\nweight: -1\nitems: ['😡', '😡😡', 'x😡']\n"}
    root = folder(tmp_path, """\
  - {id: r, order: 10, when: {text: {contains_any: [list:hw, list:nl, list:emoji]}}, then: {department: network}}
""", lists=lists)
    assert lints(root, "covered-item") == [
        "lists/emoji.yaml:4:14: list 'emoji': item '😡😡' is already matched by '😡' (lists/emoji.yaml:4:9); "
        "with the list's weight it also counts twice",
        "lists/emoji.yaml:4:20: list 'emoji': item 'x😡' is already matched by '😡' (lists/emoji.yaml:4:9); "
        "with the list's weight it also counts twice",
        "lists/hw.yaml:3:16: list 'hw': item 'modemkabel' is already matched by 'modem' (lists/hw.yaml:3:9)",
        "lists/nl.yaml:2:19: list 'nl': item 'geen internet' is already matched by 'internet' (lists/nl.yaml:2:9)",
        "lists/nl.yaml:2:48: list 'nl': item 'storingen' is already matched by 'storing*' (lists/nl.yaml:2:36)"]


def test_conditions_that_can_never_hold(tmp_path: Path) -> None:
    root = folder(tmp_path, """\
  - {id: range, order: 10, when: {author.followers: {gt: 5, lt: 3}}, then: {department: network}}
  - {id: edge, order: 20, when: {author.followers: {gte: 5, lt: 5}}, then: {department: network}}
  - id: two-values
    order: 30
    when: {all: [{channel: x}, {channel: facebook}]}
    then: {department: network}
  - {id: empty-in, order: 40, when: {language: {in: []}}, then: {department: network}}
  - {id: not-there, order: 50, when: {language: {exists: false, eq: nl}}, then: {department: network}}
  - id: nested
    order: 60
    when:
      any:
        - {channel: x}
        - {text: {contains_any: [list:o], not_contains_any: [storingen, list:o]}}
    then: {department: network}
  - {id: fine, order: 70, when: {author.followers: {gte: 5, lte: 5}, channel: {ne: x, in: [x, y]}},
     then: {department: network}}
""", lists={"o": "list: o\nitems: [storing]\n"})
    assert lints(root, "impossible-condition") == [
        "rules/rules.yaml:2:65: rule 'range': `author.followers: lt 3` can never hold together with "
        "`author.followers: gt 5`",
        "rules/rules.yaml:3:65: rule 'edge': `author.followers: lt 5` can never hold together with "
        "`author.followers: gte 5`",
        "rules/rules.yaml:6:42: rule 'two-values': `channel: eq facebook` can never hold together with "
        "`channel: eq x`",
        "rules/rules.yaml:8:53: rule 'empty-in': `language: in []` can never hold",
        "rules/rules.yaml:9:69: rule 'not-there': `language: eq nl` can never hold together with "
        "`language: exists false`",
        "rules/rules.yaml:15:61: rule 'nested': `text: not_contains_any [storingen, list:o]` can never hold "
        "together with `text: contains_any [list:o]`"]


def test_check_reports_lints_as_warnings_and_strict_fails_on_them(tmp_path: Path) -> None:
    root = folder(tmp_path, "", lists={"l": "list: l\nitems: [a]\n"})
    result = runner.invoke(cli, ["rules", "check", str(root)])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        f"{root}/lists/l.yaml:1:7: warning: list 'l' is not used: no rule names it, no used list includes it "
        "and it has no weight [unused-list]", "0 errors, 1 warnings"]
    assert runner.invoke(cli, ["rules", "check", str(root), "--strict"]).exit_code == 1


def test_check_as_json(tmp_path: Path) -> None:
    root = folder(tmp_path, "", lists={"l": "list: l\nitems: [a]\n"})
    result = runner.invoke(cli, ["rules", "check", str(root), "--format", "json", "--strict"])
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert (body["passed"], body["errors"], body["warnings"]) == (False, 0, 1)
    assert body["problems"] == [{"path": f"{root}/lists/l.yaml", "line": 1, "col": 7, "severity": "warning",
                                 "code": "unused-list", "message": body["problems"][0]["message"]}]


def test_check_as_sarif_for_pull_request_annotations(tmp_path: Path) -> None:
    root = folder(tmp_path, "", lists={"l": "list: l\nitems: [a]\n"})
    (root / "rules" / "broken.yaml").write_text("rules:\n  - {id: x, order: 1, then: {department: nowhere}}\n")
    result = runner.invoke(cli, ["rules", "check", str(root), "--format", "sarif"])
    assert result.exit_code == 1
    log = json.loads(result.stdout)
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    run = log["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert {"shadowed-rule", "impossible-condition", "unused-list", "unused-department", "duplicate-item",
            "covered-item", "invalid"} <= set(rule_ids)
    [error] = run["results"]  # a folder with errors is not linted
    assert error["ruleId"] == "invalid" and error["level"] == "error"
    assert rule_ids[error["ruleIndex"]] == "invalid"
    assert error["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": f"{root.as_posix()}/rules/broken.yaml"},
        "region": {"startLine": 2, "startColumn": 42}}
    (root / "rules" / "broken.yaml").unlink()
    strict = json.loads(runner.invoke(cli, ["rules", "check", str(root), "--format", "sarif", "--strict"]).stdout)
    assert [(r["ruleId"], r["level"]) for r in strict["runs"][0]["results"]] == [("unused-list", "error")]
    lenient = json.loads(runner.invoke(cli, ["rules", "check", str(root), "--format", "sarif"]).stdout)
    assert [r["level"] for r in lenient["runs"][0]["results"]] == ["warning"]


def test_the_example_folder_is_clean_under_strict() -> None:
    result = runner.invoke(cli, ["rules", "check", str(REPO / "routing_rules"), "--strict"])
    assert (result.exit_code, result.stdout) == (0, "0 errors, 0 warnings\n")
