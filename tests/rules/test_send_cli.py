"""`webcare send` signs with the connector's secret even while the rule folder has errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.secrets import SecretStore
from app.settings import get_settings
from tests.conftest import BASIC_RULES
from tests.delivery.receiver import Receiver


def send(monkeypatch: pytest.MonkeyPatch, rules: Path, var: Path, url: str, connector: str = "listening-tool"):
    monkeypatch.setenv("WEBCARE_RULES_DIR", str(rules))
    monkeypatch.setenv("WEBCARE_VAR_DIR", str(var))
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli, ["send", "--url", url, "--connector", connector, "--text", "Geen internet"])
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize("broken", [False, True], ids=["clean-folder", "folder-with-errors"])
def test_send_signs_with_the_connector_secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, broken: bool) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(BASIC_RULES, rules)
    if broken:
        (rules / "rules" / "routing.yaml").write_text("rules:\n  - {id: x, order: 1, then: {department: nowhere}}\n")
    var = tmp_path / "var"
    secret = SecretStore(production=False, var_dir=var).get("TEST_LISTENING_SECRET", webhook=True)
    with Receiver({"webhooks/listening-tool": secret}) as receiver:
        result = send(monkeypatch, rules, var, receiver.url)
        [received] = receiver.snapshot()
    assert result.exit_code == 0, result.output
    assert received.path == "webhooks/listening-tool" and received.verified
    assert result.stdout.strip() == "ok"
    warned = f"{rules} has " in result.stderr and "sending anyway" in result.stderr
    assert warned == broken


def test_send_still_refuses_an_unknown_connector_of_a_broken_folder(monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(BASIC_RULES, rules)
    (rules / "sla.yaml").write_text("calendars: {}\n")
    result = send(monkeypatch, rules, tmp_path / "var", "http://127.0.0.1:9", connector="nope")
    assert result.exit_code == 2
    assert "no standard connector named 'nope'" in result.stderr
