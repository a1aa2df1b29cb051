"""The deployment files in deploy/ cannot be run here (no container engine), so their contract with
the service is checked: every secret the example rule folder needs is passed in, every variable the
compose file uses has a line in example.env, and the probes and commands name what the service has."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from app.cli import cli
from app.main import api_shell, required_secrets
from app.rules import load_ruleset
from tests.conftest import EXAMPLE_RULES, REPO

DEPLOY = REPO / "deploy"


def load(path: Path) -> list[Any]:
    return list(yaml.safe_load_all(path.read_text()))


def test_compose_passes_every_secret_the_rule_folder_needs() -> None:
    [compose] = load(DEPLOY / "compose.yaml")
    needed = {name for name, _webhook in required_secrets(load_ruleset(EXAMPLE_RULES))}
    for service in ("web", "worker"):
        environment = compose["services"][service]["environment"]
        assert needed <= set(environment), needed - set(environment)
        assert environment["WEBCARE_ENV"] == "production"
    assert compose["services"]["web"]["deploy"]["replicas"] == 3
    assert compose["services"]["worker"]["command"][-1] == "worker"


def test_every_variable_the_compose_file_uses_is_in_example_env() -> None:
    used = set(re.findall(r"\$\{([A-Z_]+)\}", (DEPLOY / "compose.yaml").read_text()))
    defined = {line.split("=", 1)[0] for line in (DEPLOY / "example.env").read_text().splitlines()
               if line and not line.startswith("#")}
    assert used and used <= defined, used - defined


def test_kubernetes_probes_and_commands_exist() -> None:
    documents = load(DEPLOY / "kubernetes" / "webcare.yaml")
    paths = set(api_shell().openapi()["paths"])
    commands = {command.name or (command.callback.__name__ if command.callback else "")
                for command in cli.registered_commands}
    deployments = [d for d in documents if d["kind"] == "Deployment"]
    assert {d["metadata"]["name"] for d in deployments} == {"webcare-web", "webcare-worker"}
    for deployment in deployments:
        [main, *_sidecars] = deployment["spec"]["template"]["spec"]["containers"]
        assert main["args"][-1] in commands
        for probe in ("readinessProbe", "livenessProbe"):
            if probe in main:
                assert main[probe]["httpGet"]["path"] in paths
        env = {e["name"]: e.get("value") for e in main["env"]}
        assert env["WEBCARE_RULES_DIR"] == "/rules/current"


def dockerfile_stages() -> list[list[str]]:
    """The Dockerfile's instructions (continuation lines joined, comments dropped), by stage."""
    text = re.sub(r"\\\n", " ", (REPO / "Dockerfile").read_text())
    stages: list[list[str]] = [[]]
    for line in (raw.strip() for raw in text.splitlines()):
        if not line or line.startswith("#"):
            continue
        if line.startswith("FROM "):
            stages.append([])
        stages[-1].append(line)
    return stages


def test_the_image_installs_the_locked_service_non_editable_on_a_pinned_base() -> None:
    preamble, build, runtime = dockerfile_stages()
    [base] = [line for line in preamble if line.startswith("ARG BASE=")]
    assert re.fullmatch(r"ARG BASE=python:[\w.-]+@sha256:[0-9a-f]{64}", base), base
    assert build[0].startswith("FROM ${BASE} ") and runtime[0] == "FROM ${BASE}"
    installs = [line for line in build if "pip install " in line]
    assert any("--require-hashes -r requirements.lock" in line for line in installs), installs
    service = [line for line in installs if line.endswith(" .")]
    assert service and all("--no-deps" in line for line in service), installs
    assert not any(re.search(r"(^|\s)(-e|--editable)(\s|$)", line) for line in installs), installs
    assert "requirements-test.lock" not in "\n".join(build) and "requirements-dev.lock" not in "\n".join(build)


def test_the_application_belongs_to_root_and_the_service_user_owns_only_var() -> None:
    *_, runtime = dockerfile_stages()
    copies = [line for line in runtime if line.startswith("COPY ")]
    assert copies and not any("--chown" in line or "--chmod" in line for line in copies), copies
    chowns = re.findall(r"chown (\S+) (\S+)", "\n".join(runtime))
    assert chowns == [("webcare", "/srv/webcare/var")], chowns
    [user] = [line for line in runtime if line.startswith("USER ")]
    assert user == "USER webcare"
    assert runtime.index(user) > max(runtime.index(line) for line in copies)  # copied as root, then dropped
