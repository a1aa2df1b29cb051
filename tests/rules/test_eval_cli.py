"""`webcare rules eval` through the real CLI app: reading labelled JSON Lines, routing them through
a folder, the report, the exit codes and the problems of a bad file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from app.cli import cli
from tests.rules.support import GOOD, write_folder

runner = CliRunner()
NIGHT = "2026-03-02T23:40:00+01:00"


def line(text: str, department: str, ambiguous: bool = False, **fields: Any) -> str:
    return json.dumps({"mention": {"channel": "x", "text": text}, "department": department,
                       "ambiguous": ambiguous, **fields}, ensure_ascii=False)


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "labelled.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(cli, ["rules", "eval", *args])
    return result.exit_code, result.stdout, result.stderr


LABELLED = [
    line("Al uren een storing!!", "network", priority="P2", category="outage", now=NIGHT),
    line("Internet is down since noon", "network", now=NIGHT),
    line("Factuur INV-123456 klopt niet", "billing", category="billing"),
    line("My bill is wrong", "billing", note="no billing rule in this folder"),
    line("Hoe laat zijn jullie open?", "webcare"),
    line("storing én factuur INV-123456", "billing", ambiguous=True, now=NIGHT),
]


def test_text_report_with_figures_matrix_and_misses(tmp_path: Path) -> None:
    path = write(tmp_path, *LABELLED)
    code, out, _ = run(str(path), str(GOOD), "--min", "0.75")
    assert code == 0
    assert out.startswith("clear-cut: 4/5 (80.0%) routed to the expected department\n"
                          "  priority: 1/1 (100.0%) right\n"
                          "  category: 2/2 (100.0%) right\n")
    assert "  network            2      2  100.0%     100.0%" in out
    assert "  billing            2      1   50.0%     100.0%" in out
    assert "  webcare            1      1  100.0%      50.0%" in out
    assert f"    {path}:4: expected billing, got webcare (default): 'My bill is wrong'" \
           "  # no billing rule in this folder" in out
    # the ambiguous one is reported apart: the outage rule decides at night
    assert f"    {path}:6: expected billing, got network (rule outage-after-hours)" in out
    assert "ambiguous: 0/1 (0.0%) routed to the expected department" in out
    assert "all: 4/6 (66.7%) routed to the expected department" in out
    assert out.rstrip().endswith("pass: clear-cut accuracy 80.0%, minimum 75.0%")


def test_below_the_minimum_exits_1(tmp_path: Path) -> None:
    code, out, _ = run(str(write(tmp_path, *LABELLED)), str(GOOD), "--min", "0.9")
    assert code == 1
    assert out.rstrip().endswith("FAIL: clear-cut accuracy 80.0%, minimum 90.0%")


def test_json_report(tmp_path: Path) -> None:
    code, out, _ = run(str(write(tmp_path, *LABELLED)), str(GOOD), "--format", "json", "--min", "0.9")
    assert code == 1
    body = json.loads(out)
    assert (body["passed"], body["min"], body["ruleset_version"][:3]) == (False, 0.9, "rs-")
    assert body["clear_cut"]["accuracy"] == {"right": 4, "total": 5, "rate": 0.8}
    assert body["clear_cut"]["confusion"] == {"webcare": {"webcare": 1}, "network": {"network": 2},
                                              "billing": {"webcare": 1, "billing": 1}}
    assert body["ambiguous"]["misses"] == [{"line": 6, "text": "storing én factuur INV-123456",
                                            "expected": "billing", "got": "network",
                                            "deciding_rule": "outage-after-hours", "note": None}]


def test_a_mention_without_a_language_gets_the_detected_one(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "rules", rules="""\
rules:
  - id: english
    order: 10
    when: {language: {eq: en}}
    then: {department: press}
""")
    path = write(tmp_path,
                 line("My mobile internet keeps dropping all day long, please help", "press"),
                 json.dumps({"mention": {"channel": "x", "text": "My mobile internet keeps dropping all day long",
                                         "language": "nl"}, "department": "webcare", "ambiguous": False}))
    code, out, _ = run(str(path), str(folder), "--min", "1")
    assert code == 0, out
    assert out.startswith("clear-cut: 2/2 (100.0%)")


def test_a_bad_file_exits_2_naming_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path,
                 line("storing", "network"),
                 line("storing", "netwerk", now="2026-03-02T10:00:00", priority="P9"),
                 json.dumps({"mention": {"channel": "x", "text": "x", "author": {"followers": -1}},
                             "department": "network", "ambiguous": "no", "label": "x"}),
                 '{"mention": {"channel": "x", "text": "storing"}, "department": "network"',
                 json.dumps({"mention": {"text": "storing"}, "department": "network", "ambiguous": False}),
                 "[1]")
    code, out, err = run(str(path), str(GOOD))
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        f"{path}:2: department: unknown department 'netwerk' (known: webcare, network, billing, press)",
        f"{path}:2: priority: 'P9' is not one of P1, P2, P3, P4",
        f"{path}:2: now: '2026-03-02T10:00:00' has no UTC offset; add one, e.g. 2026-03-02T10:00:00Z or "
        "2026-03-02T10:00:00+01:00",
        f"{path}:3: label: unknown field (allowed: mention, now, department, ambiguous, priority, category, note)",
        f"{path}:3: ambiguous: expected true or false",
        f"{path}:3: mention.author.followers: Input should be greater than or equal to 0",
        f"{path}:4:73: not JSON: Expecting ',' delimiter",
        f"{path}:5: mention.channel: Field required",
        f"{path}:6: expected a JSON object with mention, department, ambiguous",
        f"9 problem(s) in {path}; nothing was scored"]


def test_an_empty_or_missing_file_or_a_broken_folder_exits_2(tmp_path: Path) -> None:
    empty = write(tmp_path, "")
    assert run(str(empty), str(GOOD))[::2] == (2, f"{empty}:1: no labelled mentions in the file\n"
                                                  f"1 problem(s) in {empty}; nothing was scored\n")
    code, _, err = run(str(tmp_path / "missing.jsonl"), str(GOOD))
    assert code == 2 and "cannot read" in err
    broken = write_folder(tmp_path / "broken", rules="rules: [{id: x}]\n")
    code, _, err = run(str(write(tmp_path, line("storing", "network"))), str(broken))
    assert code == 2 and "has errors" in err
