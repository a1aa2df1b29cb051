"""`webcare sla explain` against tests/sla/fixtures/sla_rules (SPEC §1's calendars and policies,
plus `monfri`). Expected instants are worked out by hand in the comments."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from app.settings import get_settings
from app.sla.cli import sla_app

runner = CliRunner()
RULES = Path(__file__).parent / "fixtures" / "sla_rules"
EXAMPLE = Path(__file__).parents[2] / "routing_rules"
FRIDAY_1730 = "2026-03-06T17:30:00+01:00"


def explain(*args: str, rules: Path = RULES) -> Any:
    result = runner.invoke(sla_app, ["explain", *args, "--format", "json", "--rules-dir", str(rules)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_each_timer_on_the_calendar_spec_names() -> None:
    out = explain("--policy", "standard", "--priority", "P3", "--department", "billing", "--opened-at", FRIDAY_1730)
    timers = out["timers"]
    assert list(timers) == ["first_response", "next_response", "department_ack", "resolution"]
    # first/next_response on the triage department's calendar (always): plain elapsed time.
    assert timers["first_response"] == {
        "duration": "1h", "calendar": "always", "timezone": "Europe/Amsterdam",
        "due_at": "2026-03-06T17:30:00Z", "due_local": "2026-03-06T18:30:00+01:00",
        "warning_at": "2026-03-06T17:15:00Z", "warning_local": "2026-03-06T18:15:00+01:00",
        "escalation": [{"after": "100%", "at": "2026-03-06T17:30:00Z", "local": "2026-03-06T18:30:00+01:00",
                        "actions": {"raise_priority": 1, "notify": True}}],
        "intervals": [{"from": "2026-03-06T16:30:00Z", "to": "2026-03-06T17:30:00Z",
                       "from_local": "2026-03-06T17:30:00+01:00", "to_local": "2026-03-06T18:30:00+01:00",
                       "open_seconds": 3600}],
    }
    assert timers["next_response"]["due_at"] == "2026-03-06T18:30:00Z"
    # department_ack 4h on billing's office calendar: Friday 17:30-18:00, Saturday 10:00-13:30.
    ack = timers["department_ack"]
    assert (ack["calendar"], ack["due_local"]) == ("office", "2026-03-07T13:30:00+01:00")
    assert [(i["from_local"], i["to_local"]) for i in ack["intervals"]] == [
        ("2026-03-06T17:30:00+01:00", "2026-03-06T18:00:00+01:00"),
        ("2026-03-07T10:00:00+01:00", "2026-03-07T13:30:00+01:00")]
    # 75% of 4h = 3h: Friday 30m, Saturday until 12:30. 150% = 6h: Saturday until 14:00, Monday 08:00-09:30.
    assert ack["warning_local"] == "2026-03-07T12:30:00+01:00"
    assert ack["escalation"] == [{"after": "150%", "at": "2026-03-09T08:30:00Z", "local": "2026-03-09T09:30:00+01:00",
                                  "actions": {"handoff_to": "webcare", "tag": "ack-overdue"}}]
    # resolution 2d on the owning department's calendar: Saturday and Monday are the two open days.
    assert timers["resolution"]["due_local"] == "2026-03-09T17:30:00+01:00"
    assert timers["resolution"]["calendar"] == "office"
    assert out["notes"] == []


def test_policy_calendar_applies_to_resolution_only() -> None:
    out = explain("--policy", "urgent", "--priority", "P1", "--department", "sales", "--opened-at", FRIDAY_1730)
    timers = out["timers"]
    assert (timers["resolution"]["calendar"], timers["resolution"]["due_at"]) == ("always", "2026-03-06T18:30:00Z")
    # department_ack stays on the receiving department's Monday-to-Friday calendar: 15m fits before 18:00.
    assert (timers["department_ack"]["calendar"], timers["department_ack"]["due_local"]) == \
        ("monfri", "2026-03-06T17:45:00+01:00")
    assert timers["first_response"]["warning_at"] == "2026-03-06T16:35:00Z"      # warn_at 50% of 10m


def test_a_case_that_stays_with_triage_has_no_department_ack() -> None:
    out = explain("--policy", "standard", "--priority", "P2", "--department", "webcare", "--opened-at", FRIDAY_1730)
    assert "department_ack" not in out["timers"]
    assert any("department_ack" in note for note in out["notes"])
    assert out["timers"]["resolution"]["calendar"] == "always"


def test_pauses_hold_resolution() -> None:
    # 4h from Monday 09:00; paused 10:00 until Tuesday 09:00: 1h before, 3h after -> Tuesday 12:00.
    out = explain("--policy", "standard", "--priority", "P1", "--department", "billing",
                  "--opened-at", "2026-03-02T09:00:00+01:00",
                  "--paused", "2026-03-02T10:00:00+01:00/2026-03-03T09:00:00+01:00")
    resolution = out["timers"]["resolution"]
    assert resolution["due_local"] == "2026-03-03T12:00:00+01:00"
    assert [(i["from_local"][11:16], i["to_local"][11:16]) for i in resolution["intervals"]] == [
        ("09:00", "10:00"), ("09:00", "12:00")]
    assert resolution["warning_local"] == "2026-03-03T11:00:00+01:00"             # 3h of 4h
    assert out["paused"] == [{"from": "2026-03-02T09:00:00Z", "to": "2026-03-03T08:00:00Z"}]
    # The other timers do not pause.
    assert out["timers"]["department_ack"]["due_local"] == "2026-03-02T09:30:00+01:00"


def test_text_format() -> None:
    result = runner.invoke(sla_app, ["explain", "--policy", "standard", "--priority", "P3", "--department",
                                     "billing", "--opened-at", FRIDAY_1730, "--rules-dir", str(RULES)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "policy standard, priority P3, department billing, opened 2026-03-06T16:30:00Z"
    assert "department_ack: 4h on calendar office (Europe/Amsterdam)" in lines
    assert "  due      2026-03-07T12:30:00Z  2026-03-07T13:30:00+01:00" in lines
    assert "    2026-03-07T10:00:00+01:00 - 2026-03-07T13:30:00+01:00  3h30m" in lines
    assert any(line.startswith("  at 150%") and "handoff_to webcare, tag ack-overdue" in line for line in lines)


def test_the_example_folder_and_the_settings_default(monkeypatch: pytest.MonkeyPatch) -> None:
    # routing_rules/ (office 08:30-17:30): 4h from Friday 17:30 runs on Saturday 09:00-13:00.
    out = explain("--policy", "standard", "--priority", "P3", "--department", "billing",
                  "--opened-at", FRIDAY_1730, rules=EXAMPLE)
    assert out["timers"]["department_ack"]["due_local"] == "2026-03-07T13:00:00+01:00"
    monkeypatch.setenv("WEBCARE_RULES_DIR", str(RULES))
    get_settings.cache_clear()
    try:
        result = runner.invoke(sla_app, ["explain", "--policy", "standard", "--priority", "P3", "--department",
                                         "billing", "--opened-at", FRIDAY_1730, "--format", "json"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["timers"]["department_ack"]["due_local"] == "2026-03-07T13:30:00+01:00"


@pytest.mark.parametrize(("args", "message"), [
    (["--opened-at", "2026-03-06T17:30:00"], "has no UTC offset"),
    (["--opened-at", "friday"], "is not an ISO 8601 timestamp"),
    (["--policy", "nope"], "unknown policy 'nope' (known: standard, urgent)"),
    (["--priority", "P5"], "unknown priority 'P5' (known: P1, P2, P3, P4)"),
    (["--department", "legal"], "unknown department 'legal'"),
    (["--paused", "2026-03-06T18:00:00+01:00"], "is not FROM/TO"),
    (["--paused", "2026-03-06T18:00:00+01:00/2026-03-06T19:00:00"], "has no UTC offset"),
    (["--paused", "2026-03-06T19:00:00+01:00/2026-03-06T18:00:00+01:00"], "ends before it starts"),
])
def test_bad_input_is_a_usage_error(args: list[str], message: str) -> None:
    base = {"--policy": "standard", "--priority": "P3", "--department": "billing", "--opened-at": FRIDAY_1730}
    for key in args[::2]:
        base.pop(key, None)
    flat = [x for pair in base.items() for x in pair]
    result = runner.invoke(sla_app, ["explain", *flat, *args, "--rules-dir", str(RULES)])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_a_folder_that_does_not_load(tmp_path: Path) -> None:
    result = runner.invoke(sla_app, ["explain", "--policy", "standard", "--priority", "P3", "--department",
                                     "billing", "--opened-at", FRIDAY_1730, "--rules-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "missing file" in result.output
    assert "does not load" in result.output
