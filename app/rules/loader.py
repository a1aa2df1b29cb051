"""Reading a `routing_rules/` folder: the only part of the rule engine that does I/O.

Every file is read and checked before anything is decided, and every problem is collected, so one
`rules check` run lists them all.
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

from app.rules import lints
from app.rules.compiled import CompiledRules
from app.rules.lints import Sources
from app.rules.matching import ItemMatcher
from app.rules.model import Connector, RuleSet
from app.rules.problems import Problem, RuleSetError
from app.rules.refs import Refs
from app.rules.schema_incidents import read_incidents
from app.rules.schema_lists import ListBook
from app.rules.schema_rules import RuleReader
from app.rules.schema_sla import read_sla
from app.rules.schema_tests import CaseReader
from app.rules.schema_top import read_connectors, read_departments
from app.rules.version import ruleset_version
from app.rules.yamlnodes import Reporter, YamlFile

TOP_FILES = ("departments.yaml", "sla.yaml", "connectors.yaml", "incidents.yaml")
REQUIRED_FILES = ("departments.yaml", "sla.yaml")
FOLDERS = ("lists", "rules", "tests")
_SUFFIXES = (".yaml", ".yml")


def discover(root: Path) -> tuple[list[str], list[str]]:
    """(files the loader reads, other YAML files) as relative POSIX paths, sorted bytewise.
    Hidden files and folders are skipped silently: a leading dot is how a file is switched off."""
    read = [name for name in TOP_FILES if (root / name).is_file()]
    for folder in FOLDERS:
        if (root / folder).is_dir():
            read += [f"{folder}/{p.name}" for p in (root / folder).iterdir()
                     if p.is_file() and p.suffix in _SUFFIXES and not p.name.startswith(".")]
    chosen = set(read)
    others = [p.relative_to(root).as_posix() for p in root.rglob("*")
              if p.suffix in _SUFFIXES and p.is_file()
              and not any(part.startswith(".") for part in p.relative_to(root).parts)]
    others = [p for p in others if p not in chosen]
    return sorted(read, key=str.encode), sorted(others, key=str.encode)


def folder_version(path: Path) -> str:
    """The version the folder would load as, from its bytes alone (nothing parsed)."""
    relpaths, _ = discover(path)
    return ruleset_version((rel, (path / rel).read_bytes()) for rel in relpaths)


def check_ruleset(path: Path, *, lint: bool = False) -> tuple[RuleSet | None, list[Problem]]:
    """Every problem of the folder (sorted by place) and the rule set, which is None when there is
    at least one error. Warnings alone do not stop loading. With `lint`, a folder without errors is
    also linted (`app.rules.lints`: warnings with a code); loading for service leaves that to
    `webcare rules check`, which is where a reviewer reads them."""
    reporter = Reporter(path)
    if not path.is_dir():
        reporter.add("", 0, 0, "error", "not a directory")
        return None, reporter.problems
    relpaths, others = discover(path)
    for rel in others:
        reporter.add(rel, 0, 0, "warning", "ignored: YAML files are read only as departments.yaml, sla.yaml, "
                                           "connectors.yaml, incidents.yaml or directly in lists/, rules/ and tests/")
    for name in REQUIRED_FILES:
        if name not in relpaths:
            reporter.add(name, 0, 0, "error", "missing file")
    files = {rel: YamlFile(rel, (path / rel).read_bytes(), reporter) for rel in relpaths}
    ruleset = _build(path, files, reporter, lint=lint)
    problems = sorted(reporter.problems)
    if any(p.severity == "error" for p in problems):
        return None, problems
    return ruleset, problems


def load_ruleset(path: Path) -> RuleSet:
    """The rule set of a folder. Raises `RuleSetError` (with every problem) when there are errors."""
    ruleset, problems = check_ruleset(path)
    if ruleset is None:
        raise RuleSetError(problems)
    return ruleset


def read_connectors_only(path: Path) -> dict[str, Connector]:
    """The connectors of `connectors.yaml` read on their own, for commands that need only a
    connector's secret name (`webcare send`) and must work while other files have errors. A
    connector with errors of its own is left out; names other files define are not checked."""
    reporter = Reporter(path)
    target = path / "connectors.yaml"
    if not target.is_file():
        return {}
    return read_connectors(YamlFile("connectors.yaml", target.read_bytes(), reporter), Refs())


def _build(path: Path, files: dict[str, YamlFile], reporter: Reporter, *, lint: bool) -> RuleSet | None:
    refs = Refs()
    calendars, policies = read_sla(files["sla.yaml"], refs) if "sla.yaml" in files else ({}, {})
    defaults, departments = read_departments(files["departments.yaml"], refs) \
        if "departments.yaml" in files else (None, {})
    connectors = read_connectors(files["connectors.yaml"], refs) if "connectors.yaml" in files else {}
    watches = read_incidents(files["incidents.yaml"], refs) if "incidents.yaml" in files else []
    book = ListBook()
    for rel, f in files.items():
        if rel.startswith("lists/"):
            book.read(f, refs)
    book.build()
    rules = RuleReader(refs, book, calendars)
    for rel, f in files.items():
        if rel.startswith("rules/"):
            rules.read(f)
    tests = CaseReader(refs)
    for rel, f in files.items():
        if rel.startswith("tests/"):
            tests.read(f)
    refs.check()
    weights = book.weights()
    weighted_items = [i for name in weights for i in book.lists[name].own.items]
    if defaults is None or any(p.severity == "error" for p in reporter.problems):
        return None
    ordered = rules.rules()
    lexicon = ItemMatcher([*rules.text_items, *weighted_items]).compile()
    ruleset = RuleSet(
        version=ruleset_version((rel, f.data) for rel, f in files.items()),
        path=path,
        files=tuple(files),
        defaults=defaults,
        departments=MappingProxyType(departments),
        connectors=MappingProxyType(connectors),
        calendars=MappingProxyType(calendars),
        policies=MappingProxyType(policies),
        lists=MappingProxyType(book.lists),
        rules=ordered,
        tests=tuple(tests.tests),
        incidents=tuple(watches),
        series=tuple(tests.series),
        lexicon=lexicon,
        weights=MappingProxyType(weights),
        compiled=CompiledRules(lexicon, weights, [r.when for r in ordered]),
    )
    if lint:
        sources = Sources(refs, rules.places, frozenset(rules.used_lists), book.written_items())
        for found in lints.lint(ruleset, sources):
            relpath, line0, col0 = found.place
            reporter.add(relpath, line0, col0, "warning", found.message, found.code)
    return ruleset
