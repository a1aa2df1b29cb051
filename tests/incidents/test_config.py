"""incidents.yaml and the series tests: loaded with the rule folder, wrong input named at
`path:line:col`, series tests run by `rules test` and by every reload."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from app.cli import cli
from app.rules import check_ruleset
from app.rules.holder import vet_folder
from app.rules.testing import run_rule_tests
from tests.rules.support import write_folder

runner = CliRunner()
WATCH = """\
timezone: Europe/Amsterdam
incidents:
  - id: outage
    title: Outage
    lists: [outage_nl]
    window: 10m
    factor: 3
    min_count: 10
    calm: 20m
"""
OUTAGE_NL = "list: outage_nl\nitems: [storing]\n"
NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


def series(expect: str, *, per_hour: int = 2, repeat: int = 30) -> str:
    return f"""\
series:
  - name: storm
    history:
      - {{text: "storing hier", per_hour: {per_hour}}}
      - {{text: "hallo", per_hour: 50}}
    mentions:
      - {{at: "2026-03-02T10:00:00+01:00", text: "Grote storing!", repeat: {repeat}, every: 20s}}
      - {{at: "2026-03-02T10:00:00+01:00", text: "hallo daar", repeat: 30, every: 10s}}
    expect: {expect}
"""


def folder(tmp_path: Path, incidents: str = WATCH, tests: str | None = None) -> Path:
    return write_folder(tmp_path, lists={"outage_nl": OUTAGE_NL}, extra={"incidents.yaml": incidents},
                        tests={"series": tests} if tests is not None else None)


def errors(path: Path) -> list[str]:
    _, problems = check_ruleset(path)
    return [f"{Path(p.path).relative_to(path)}:{p.line}:{p.col}: {p.message}" for p in problems
            if p.severity == "error"]


def test_the_watch_loads_with_the_folder(tmp_path: Path) -> None:
    ruleset, problems = check_ruleset(folder(tmp_path))
    assert ruleset is not None, problems
    (watch,) = ruleset.incidents
    assert (watch.id, watch.lists, watch.window, watch.factor, watch.min_count, watch.calm, watch.history_weeks) \
        == ("outage", ("outage_nl",), timedelta(minutes=10), 3.0, 10, timedelta(minutes=20), 4)
    assert str(watch.timezone) == "Europe/Amsterdam"
    assert ruleset.watch("outage") is watch and ruleset.watch("other") is None


def test_mistakes_are_named_at_their_place(tmp_path: Path) -> None:
    bad = """\
timezone: Mars/Olympus
incidents:
  - id: outage
    lists: [outage_xx]
    window: ten minutes
    factor: 0
    min_count: 0
    calm: 20m
    colour: red
  - id: empty
    window: 10m
    factor: 2
    min_count: 5
"""
    assert errors(folder(tmp_path, bad)) == [
        "incidents.yaml:1:11: timezone: unknown time zone 'Mars/Olympus' (use an IANA name)",
        "incidents.yaml:4:13: unknown list 'outage_xx' (known: outage_nl)",
        "incidents.yaml:5:13: incident 'outage': window: 'ten minutes' is not a duration like 90s, 10m, 2h or 1d "
        "(more than zero)",
        "incidents.yaml:6:13: incident 'outage': factor must be more than 0",
        "incidents.yaml:7:16: incident 'outage': min_count must be at least 1",
        "incidents.yaml:9:5: incident: unknown key 'colour' (allowed: id, window, factor, min_count, calm, title, "
        "lists, categories, history_weeks)",
        "incidents.yaml:10:5: incident 'empty': name at least one of lists or categories to watch",
        "incidents.yaml:10:5: incident: missing key 'calm'",
    ]


def test_a_series_expecting_an_unknown_watch_or_with_a_bad_time_is_an_error(tmp_path: Path) -> None:
    text = series("[{watch: flood}]").replace('"2026-03-02T10:00:00+01:00", text: "Grote', '"10:00", text: "Grote')
    assert errors(folder(tmp_path, tests=text)) == [
        "tests/series.yaml:7:14: series test 'storm': at: '10:00' is not an ISO 8601 timestamp like "
        "2026-03-02T10:15:00+01:00",
        "tests/series.yaml:9:22: unknown incident 'flood' (known: outage)",
    ]


def test_rules_test_runs_series_tests_and_reports_a_failing_one(tmp_path: Path) -> None:
    # 2 matching an hour is 0.33 in 10 minutes: 10 (min_count) are needed; the 10th comes at 10:03:00.
    passing = series('[{watch: outage, opened_after: "2026-03-02T10:02:59+01:00", '
                     'opened_by: "2026-03-02T10:03:30+01:00", mentions: 30, closed_by: "2026-03-02T10:45:00+01:00"}]')
    path = folder(tmp_path / "a", tests=passing)
    ok = runner.invoke(cli, ["rules", "test", str(path)])
    assert ok.exit_code == 0, ok.stdout
    failing = series("[{watch: outage, mentions: 29}]")
    path = folder(tmp_path / "b", tests=failing)
    bad = runner.invoke(cli, ["rules", "test", str(path)])
    assert bad.exit_code == 1
    assert "storm" in bad.stdout and "incident 1: expected 29 mentions, got 30" in bad.stdout


def test_a_burst_below_the_factor_opens_nothing_and_a_reload_refuses_a_wrong_expectation(tmp_path: Path) -> None:
    # 60 matching an hour is 10 in a window: more than 30 are needed, the 30 of the burst are not.
    quiet = folder(tmp_path / "a", tests=series("[]", per_hour=60))
    ruleset, problems = vet_folder(quiet, now=NOW)
    assert ruleset is not None, problems
    assert [r.passed for r in run_rule_tests(ruleset, now=NOW)] == [True]
    wrong = folder(tmp_path / "b", tests=series("[{watch: outage}]", per_hour=60))
    ruleset, problems = vet_folder(wrong, now=NOW)
    assert ruleset is None
    assert [f"{Path(p.path).name}:{p.line}: {p.message}" for p in problems if p.severity == "error"] == [
        "series.yaml:2: test 'storm' fails: expected 1 incident(s), got 0"]


def test_a_tests_file_needs_tests_or_series(tmp_path: Path) -> None:
    path = folder(tmp_path, tests="now: 2026-03-02T10:00:00Z\n")
    assert errors(path) == ["tests/series.yaml:1:1: tests file: expected 'tests' (routing tests) or 'series' "
                            "(series tests)"]
