"""The JSON Schemas of the rule-folder files: shipped exactly as generated, valid for the example
folder, and in agreement with the loader on what is wrong."""

from __future__ import annotations

from pathlib import Path

import jsonschema as js
import pytest
import yaml
from typer.testing import CliRunner

from app.cli import cli
from app.rules import check_ruleset
from app.rules.jsonschema import KINDS, render, schema
from app.rules.yamlnodes import to_plain
from tests.rules.support import GOOD, write_folder

REPO = Path(__file__).parents[2]
SHIPPED = REPO / "routing_rules" / "schema"
runner = CliRunner()


def kind_of(rel: str) -> str:
    top = {"departments.yaml": "departments", "sla.yaml": "sla", "connectors.yaml": "connectors",
           "incidents.yaml": "incidents"}
    return top.get(rel) or rel.split("/")[0]


def schema_errors(folder: Path, rel: str) -> list[str]:
    data = to_plain(yaml.compose((folder / rel).read_text(encoding="utf-8"), Loader=yaml.SafeLoader))
    validator = js.Draft7Validator(schema(kind_of(rel)))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]


@pytest.mark.parametrize("kind", KINDS)
def test_shipped_schemas_are_the_generated_ones(kind: str) -> None:
    assert (SHIPPED / f"{kind}.json").read_text(encoding="utf-8") == render(kind), \
        "regenerate with: webcare rules schema --write routing_rules/schema"
    js.Draft7Validator.check_schema(schema(kind))


@pytest.mark.parametrize("folder", [REPO / "routing_rules", GOOD], ids=["example", "good"])
def test_valid_folders_validate(folder: Path) -> None:
    ruleset, _ = check_ruleset(folder)
    assert ruleset is not None
    assert len(ruleset.files) > 5
    for rel in ruleset.files:
        assert schema_errors(folder, rel) == [], rel


@pytest.mark.parametrize(("rel", "text", "schema_says"), [
    ("rules/rules.yaml", "rules:\n  - {id: r, order: 1, colour: red}\n", "Additional properties"),
    ("rules/rules.yaml", "rules:\n  - {id: r, order: 1, when: {text: {contains: [x]}}}\n", "is not valid"),
    ("rules/rules.yaml", "rules:\n  - {id: r, order: 1, when: {author.followers: {gt: many}}}\n", "is not valid"),
    ("rules/rules.yaml", "rules:\n  - {id: r, order: 1, then: {priority: P7}}\n", "is not valid"),
    ("rules/rules.yaml", "rules:\n  - {id: r, order: 1, when: {any: []}}\n", "should be non-empty"),
    ("lists/l.yaml", "list: l\nmatch: fuzzy\nitems: [a]\n", "is not one of"),
    ("lists/l.yaml", "list: l\n", "'items' is a required property"),
    ("connectors.yaml", "connectors:\n  - {name: c, kind: telegram, secret_env: X}\n", "is not valid"),
    ("tests/t.yaml", "tests:\n  - {name: n, mention: {text: hi}, expect: {department: webcare}}\n",
     "'channel' is a required property"),
    ("tests/t.yaml", "tests:\n  - {name: n, mention: {text: hi, channel: x}, expect: {}}\n", "should be non-empty"),
])
def test_schema_and_loader_refuse_the_same_mistakes(tmp_path: Path, rel: str, text: str, schema_says: str) -> None:
    folder = write_folder(tmp_path, extra={rel: text})
    assert any(schema_says in e for e in schema_errors(folder, rel)), schema_errors(folder, rel)
    ruleset, problems = check_ruleset(folder)
    assert ruleset is None and any(p.path.endswith(rel) for p in problems if p.severity == "error")


def test_a_test_mention_may_leave_out_its_id(tmp_path: Path) -> None:
    rel = "tests/t.yaml"
    folder = write_folder(tmp_path, extra={rel: "tests:\n  - {name: n, mention: {text: hi, channel: x}, "
                                                "expect: {department: webcare}}\n"})
    assert schema_errors(folder, rel) == []
    assert check_ruleset(folder)[0] is not None


def test_schema_command_prints_one_kind_and_lists_them() -> None:
    printed = runner.invoke(cli, ["rules", "schema", "rules"])
    assert printed.exit_code == 0 and printed.stdout == render("rules")
    listed = runner.invoke(cli, ["rules", "schema"])
    assert listed.stdout.splitlines()[0].split() == ["departments", "departments.yaml"]
    unknown = runner.invoke(cli, ["rules", "schema", "rulez"])
    assert unknown.exit_code == 2 and "unknown kind 'rulez'" in unknown.stderr


def test_schema_write_regenerates_every_file(tmp_path: Path) -> None:
    assert runner.invoke(cli, ["rules", "schema", "--write", str(tmp_path)]).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{k}.json" for k in KINDS)
    assert all((tmp_path / f"{k}.json").read_text() == render(k) for k in KINDS)
