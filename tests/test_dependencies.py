"""The lock files hold what pyproject.toml asks for, every pin with its hashes, and CI installs the way
the README says: a dependency added to pyproject.toml without `scripts/lock` fails here, not in a
fresh install somewhere else. The lint tools are the `dev` dependency group with a lock of their own,
which CI installs (hashes required) for the lint step only."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.conftest import REPO

PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)(?: ; (?P<marker>[^\\]+?))? \\$")


def locked(lock: Path) -> dict[str, tuple[Version, int]]:
    """Pins of `lock` that apply to this interpreter: name -> (version, number of hashes)."""
    pins: dict[str, tuple[Version, int]] = {}
    name = ""
    for line in lock.read_text().splitlines():
        match = PIN.match(line)
        if match:
            applies = match["marker"] is None or Marker(match["marker"]).evaluate()
            name = canonicalize_name(match["name"]) if applies else ""
            if name:
                pins[name] = (Version(match["version"]), 0)
        elif name and line.strip().startswith("--hash=sha256:"):
            version, hashes = pins[name]
            pins[name] = (version, hashes + 1)
    return pins


PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
LINT_TOOLS = {"ruff", "mypy", "types-pyyaml"}


def requirements(extra: str | None = None) -> list[Requirement]:
    project = PYPROJECT["project"]
    listed = project["optional-dependencies"][extra] if extra else project["dependencies"]
    return [Requirement(text) for text in listed]


def group(name: str) -> list[Requirement]:
    """A PEP 735 dependency group (plain requirements only: no group includes are used)."""
    return [Requirement(text) for text in PYPROJECT["dependency-groups"][name]]


@pytest.mark.parametrize(("lock_name", "wanted"), [
    ("requirements.lock", requirements()),
    ("requirements-test.lock", requirements() + requirements("test")),
    ("requirements-dev.lock", group("dev")),
])
def test_every_requirement_is_locked_within_its_range_with_hashes(lock_name: str, wanted: list[Requirement]) -> None:
    pins = locked(REPO / lock_name)
    for requirement in wanted:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is not in {lock_name}: run scripts/lock"
        version, _ = pins[name]
        assert requirement.specifier.contains(version, prereleases=True), \
            f"{lock_name} pins {name}=={version}, outside {requirement}: run scripts/lock"
    unhashed = [name for name, (_, hashes) in pins.items() if hashes == 0]
    assert not unhashed, f"pins without a hash in {lock_name}: {unhashed}"


def test_service_lock_pins_the_versions_the_tests_run_on() -> None:
    service, tested = locked(REPO / "requirements.lock"), locked(REPO / "requirements-test.lock")
    differing = {name: (pin[0], tested.get(name)) for name, pin in service.items()
                 if name not in tested or tested[name][0] != pin[0]}
    assert not differing, f"requirements.lock and requirements-test.lock disagree: {differing}; run scripts/lock"


def test_the_lint_lock_installs_on_top_of_the_test_set_up() -> None:
    """What the dev lock shares with the test lock (typing-extensions, ...) is pinned alike, so
    `pip install --require-hashes -r requirements-dev.lock` into the test venv changes nothing there."""
    dev, tested = locked(REPO / "requirements-dev.lock"), locked(REPO / "requirements-test.lock")
    differing = {name: (pin[0], tested[name][0]) for name, pin in dev.items()
                 if name in tested and tested[name][0] != pin[0]}
    assert not differing, f"requirements-dev.lock and requirements-test.lock disagree: {differing}; run scripts/lock"


def test_lint_tools_are_the_dev_group_not_the_test_set() -> None:
    assert {canonicalize_name(r.name) for r in group("dev")} == LINT_TOOLS
    assert not LINT_TOOLS & {canonicalize_name(r.name) for r in requirements("test")}
    assert not LINT_TOOLS & set(locked(REPO / "requirements-test.lock"))
    assert "--group pyproject.toml:dev" in (REPO / "scripts" / "lock").read_text()


def test_ci_installs_the_lint_lock_with_hashes_before_linting() -> None:
    lines = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    install = lines.index(".venv/bin/pip install -q --require-hashes -r requirements-dev.lock")
    assert install < lines.index(".venv/bin/ruff check app tests examples")
    assert install < lines.index(".venv/bin/mypy app examples")


def test_ci_runs_the_readme_test_command_word_for_word() -> None:
    readme_commands = re.findall(r"```sh\n(.*?)\n```", (REPO / "README.md").read_text(), re.S)
    test_command = next(command for command in readme_commands if command.endswith("-m pytest"))
    ci_line = next(line for line in (REPO / ".ci" / "run").read_text().splitlines()
                   if line.startswith("TEST_COMMAND="))
    assert shlex.split(ci_line.removeprefix("TEST_COMMAND="))[0] == test_command
    assert "--require-hashes -r requirements-test.lock" in test_command
