"""`rules check` on sla.yaml problems that matter to deadline arithmetic."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.rules import check_ruleset
from tests.rules.support import SLA, write_folder


@pytest.mark.parametrize("hours", ["{}", "{mon-fri: []}"])
def test_a_calendar_with_no_open_hours_is_an_error(tmp_path: Path, hours: str) -> None:
    sla = SLA.replace('hours: {mon-fri: ["08:00-18:00"]}', f"hours: {hours}")
    ruleset, problems = check_ruleset(write_folder(tmp_path, sla=sla))
    assert ruleset is None
    assert [str(p) for p in problems] == [
        f"{tmp_path}/sla.yaml:5:12: error: calendar 'office': hours has no open interval on any day "
        "(use 24/7 for always open)"]


def test_a_calendar_open_one_day_a_week_is_fine(tmp_path: Path) -> None:
    sla = SLA.replace('hours: {mon-fri: ["08:00-18:00"]}', 'hours: {sun: ["10:00-11:00"]}')
    ruleset, problems = check_ruleset(write_folder(tmp_path, sla=sla))
    assert ruleset is not None, problems
