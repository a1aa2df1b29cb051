"""CI draws the same property-test examples on every run (tests/conftest.py's `ci` profile)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

SHOW_PROFILE = ("import tests.conftest; from hypothesis import settings; d = settings.default; "
                "print(d.derandomize, d.database, d.deadline)")


def loaded_profile(**env: str) -> str:
    environment = {key: value for key, value in os.environ.items() if key not in ("CI", "HYPOTHESIS_PROFILE")}
    shown = subprocess.run([sys.executable, "-c", SHOW_PROFILE], env={**environment, **env}, cwd=REPO,
                           capture_output=True, text=True, timeout=60, check=True)
    return shown.stdout.strip()


@pytest.mark.parametrize("env", [{"CI": "true"}, {"HYPOTHESIS_PROFILE": "ci"}])
def test_ci_runs_are_derandomized_without_a_database_or_deadline(env: dict[str, str]) -> None:
    assert loaded_profile(**env) == "True None None"


def test_other_runs_draw_anew() -> None:
    assert loaded_profile().startswith("False ")
