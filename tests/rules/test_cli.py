"""`webcare rules check|test|explain|show` through the real CLI app."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from tests.rules.support import BROKEN, GOOD, ROUTE_EVERY_DEPARTMENT, write_folder
from tests.rules.test_loader import BROKEN_PROBLEMS

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(cli, ["rules", *args])
    return result.exit_code, result.stdout


def test_check_good_folder() -> None:
    assert run("check", str(GOOD)) == (0, "0 errors, 0 warnings\n")


def test_check_broken_folder_lists_every_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(Path(__file__).parents[2])
    code, out = run("check", "tests/rules/fixtures/broken")
    assert code == 1
    assert out.splitlines() == [*BROKEN_PROBLEMS, f"{len(BROKEN_PROBLEMS) - 1} errors, 1 warnings"]


def test_warnings_fail_only_with_strict(tmp_path: Path) -> None:
    write_folder(tmp_path, extra={"stray.yaml": "a: 1\n"}, rules="rules:\n" + ROUTE_EVERY_DEPARTMENT)
    code, out = run("check", str(tmp_path))
    assert code == 0 and out.endswith("0 errors, 1 warnings\n")
    assert run("check", str(tmp_path), "--strict")[0] == 1


def test_check_defaults_to_routing_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_folder(tmp_path / "routing_rules", rules="rules:\n" + ROUTE_EVERY_DEPARTMENT)
    monkeypatch.chdir(tmp_path)
    assert run("check") == (0, "0 errors, 0 warnings\n")


def test_usage_error_exits_2() -> None:
    assert run("check", str(GOOD), "--bogus")[0] == 2


def test_test_command_and_junit(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    code, out = run("test", str(GOOD), "--junit", str(junit))
    assert code == 0
    assert out.splitlines() == [
        "PASS 'storingsvrij' is praise, not an outage", "PASS Outage at night",
        "PASS Outage in office hours, by an influencer", "PASS Invoice number is billing", "4 passed, 0 failed"]
    suite = ET.parse(junit).getroot()
    assert (suite.tag, suite.get("tests"), suite.get("failures")) == ("testsuite", "4", "0")
    assert [c.get("classname") for c in suite] == ["tests/routing.yaml"] * 4


def test_test_command_fails_on_a_failing_case(tmp_path: Path) -> None:
    tests = "now: 2026-03-02T10:00:00Z\ntests:\n  - {name: n, mention: {text: hi, channel: x}, " \
            "expect: {department: network}}\n"
    write_folder(tmp_path, tests={"t": tests})
    junit = tmp_path / "j.xml"
    code, out = run("test", str(tmp_path), "--junit", str(junit))
    assert (code, out) == (1, "FAIL n: department: expected network, got webcare\n0 passed, 1 failed\n")
    failure = ET.parse(junit).getroot().find("testcase/failure")
    assert failure is not None and failure.get("message") == "department: expected network, got webcare"


def test_test_command_on_a_broken_folder_prints_problems() -> None:
    code, out = run("test", str(BROKEN))
    assert code == 1
    assert "duplicate key 'then'" in out
    assert out.endswith(f"{len(BROKEN_PROBLEMS) - 1} errors, 1 warnings\n")


def test_explain_text() -> None:
    code, out = run("explain", str(GOOD), "--text", "Al 3 uur STORING!!", "--now", "2026-03-02T23:40:00+01:00")
    assert code == 0
    lines = out.splitlines()
    assert "department:   network" in lines
    assert "deciding:     outage-after-hours" in lines
    assert "span:         outage-after-hours [9, 16) 'STORING'" in lines
    assert any(line.split()[:2] == ["not_evaluated", "outage"] for line in lines)


def test_explain_json_with_options(tmp_path: Path) -> None:
    code, out = run("explain", str(GOOD), "--text", "storing", "--followers", "20000", "--verified",
                    "--channel", "facebook", "--language", "nl", "--private", "--handle", "@jan",
                    "--connector", "kpn-x", "--now", "2026-03-02T10:15:00+01:00", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["decision"]["matched_rules"] == ["influencer", "outage"]
    assert data["decision"]["notify"] == ["press"]
    assert data["decision"]["spans"] == [{"rule_id": "outage", "start": 0, "end": 7}]
    assert [r["result"] for r in data["rules"]] == ["failed", "matched", "failed", "matched", "not_evaluated"]


def test_explain_mention_file(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"channel": "x", "text": "Waar blijft INV-123456?"}))
    code, out = run("explain", str(GOOD), "--mention", str(path), "--now", "2026-03-02T09:00:00Z",
                    "--format", "json")
    assert code == 0
    assert json.loads(out)["decision"]["department"] == "billing"


@pytest.mark.parametrize(("args", "message"), [
    (["--now", "2026-03-02T10:15:00"], "has no UTC offset"),
    (["--now", "yesterday"], "is not an ISO 8601 timestamp"),
    ([], "give exactly one of --text and --mention"),
    (["--text", "x", "--connector", "ghost"], "unknown connector 'ghost'"),
])
def test_explain_usage_errors(args: list[str], message: str) -> None:
    if "--text" not in args and args:
        args = ["--text", "x", *args]
    result = runner.invoke(cli, ["rules", "explain", str(GOOD), *args])
    assert result.exit_code == 2
    assert message in result.output


def test_show() -> None:
    code, out = run("show", str(GOOD))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("version: rs-")
    assert "files (10):" in lines
    rules = lines[lines.index("rules (5):") + 1:]
    assert [line.split()[:3] for line in rules] == [
        ["10", "angry-customer", "continue"], ["20", "influencer", "continue"],
        ["70", "outage-after-hours", "decides"], ["80", "outage", "decides"], ["90", "invoice-number", "decides"]]
    assert "department=network category=outage priority=P2 sla_policy=urgent tags=[outage]" in rules[2]
