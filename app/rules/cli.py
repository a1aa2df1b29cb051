"""`webcare rules check|test|explain|show|replay|eval` (SPEC §4). The imperative shell around the rule engine:
it reads files, the clock and the terminal; everything it calls is pure."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError

from app.kernel.clock import utc_now
from app.mentions.language import with_detected_language
from app.mentions.model import Author, Mention
from app.mentions.schema import MentionIn
from app.rules import jsonschema, report
from app.rules.cli_db import hit_totals, replay_command
from app.rules.decision import RuleTestResult
from app.rules.eval_render import render_report
from app.rules.evaluation import report as eval_report
from app.rules.explain import explain, render_text
from app.rules.hits import HitCount
from app.rules.labelled import read_labelled, run_labelled
from app.rules.loader import check_ruleset
from app.rules.model import RuleSet
from app.rules.problems import count
from app.rules.schema_tests import parse_instant
from app.rules.testing import run_rule_tests

rules_app = typer.Typer(no_args_is_help=True, help="Check, test and explain routing_rules/.")

DirArg = Annotated[Path, typer.Argument(help="The routing rules folder.", show_default=True)]
DEFAULT_DIR = Path("routing_rules")


class Format(StrEnum):
    text = "text"
    json = "json"


def ruleset_or_exit(directory: Path, exit_code: int = 1) -> RuleSet:
    """The rule set in `directory` for commands that need one; when the folder has errors, print
    each (`PATH:LINE:COL: error: ...`) on stderr and exit with `exit_code`."""
    ruleset, problems = check_ruleset(directory)
    if ruleset is None:
        for problem in problems:
            typer.echo(str(problem), err=True)
        typer.echo(f"{directory} has errors; fix them (`webcare rules check`) first", err=True)
        raise typer.Exit(exit_code)
    return ruleset


class CheckFormat(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"


@rules_app.command()
def check(directory: DirArg = DEFAULT_DIR,
          strict: Annotated[bool, typer.Option("--strict", help="Warnings (lints included) fail too.")] = False,
          output: Annotated[CheckFormat, typer.Option("--format", help="text, json or sarif (2.1.0).")]
          = CheckFormat.text) -> None:
    """List every problem and lint as PATH:LINE:COL: error|warning: message [lint]. Exit 0 when
    the check passes, 1 when the folder has errors (or, with --strict, warnings), 2 on bad usage."""
    _, problems = check_ruleset(directory, lint=True)
    if output is CheckFormat.json:
        typer.echo(json.dumps(report.as_json(problems, strict=strict), ensure_ascii=False, indent=2))
    elif output is CheckFormat.sarif:
        typer.echo(json.dumps(report.as_sarif(problems, strict=strict), ensure_ascii=False, indent=2))
    else:
        typer.echo(report.as_text(problems))
    raise typer.Exit(0 if report.passed(problems, strict=strict) else 1)


@rules_app.command("test")
def test_command(directory: DirArg = DEFAULT_DIR,
                 junit: Annotated[Path | None, typer.Option("--junit", help="Also write JUnit XML here.")] = None,
                 ) -> None:
    """Run the test cases in tests/*.yaml: PASS name / FAIL name: why."""
    ruleset = _load_or_exit(directory)
    results = run_rule_tests(ruleset, now=utc_now())
    for r in results:
        typer.echo(f"PASS {r.name}" if r.passed else f"FAIL {r.name}: {r.why}")
    failed = sum(not r.passed for r in results)
    typer.echo(f"{len(results) - failed} passed, {failed} failed")
    if junit is not None:
        write_junit(junit, results)
    raise typer.Exit(1 if failed else 0)


@rules_app.command("explain")
def explain_command(
    directory: DirArg = DEFAULT_DIR,
    text: Annotated[str | None, typer.Option("--text", help="The mention text.")] = None,
    mention_file: Annotated[Path | None, typer.Option("--mention", help="A normalised mention JSON file.")] = None,
    channel: Annotated[str | None, typer.Option("--channel")] = None,
    language: Annotated[str | None, typer.Option("--language")] = None,
    private: Annotated[bool, typer.Option("--private", help="A direct message.")] = False,
    handle: Annotated[str | None, typer.Option("--handle")] = None,
    followers: Annotated[int | None, typer.Option("--followers", min=0)] = None,
    verified: Annotated[bool, typer.Option("--verified")] = False,
    connector: Annotated[str | None, typer.Option("--connector")] = None,
    now: Annotated[str | None, typer.Option("--now", help="When received, with an offset.")] = None,
    output: Annotated[Format, typer.Option("--format")] = Format.text,
) -> None:
    """Show the decision for one mention and, rule by rule, why."""
    if (text is None) == (mention_file is None):
        _usage_error("give exactly one of --text and --mention")
    instant = _instant(now)
    mention = _mention_from_file(mention_file) if mention_file is not None else \
        Mention(external_id="cli", channel=channel or "x", text=text or "")
    mention = _override(mention, channel=channel, language=language, private=private, handle=handle,
                        followers=followers, verified=verified)
    ruleset = _load_or_exit(directory)
    if connector is not None and connector not in ruleset.connectors:
        _usage_error(f"unknown connector '{connector}' (known: {', '.join(ruleset.connectors)})")
    result = explain(ruleset, mention, instant, connector=connector)
    if output is Format.json:
        typer.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        typer.echo(render_text(result, mention.text))


@rules_app.command("eval")
def eval_command(
    file: Annotated[Path, typer.Argument(help="Labelled mentions, JSON Lines (routing_rules/README.md).")],
    directory: DirArg = DEFAULT_DIR,
    minimum: Annotated[float | None, typer.Option("--min", min=0, max=1,
                                                  help="Exit 1 when clear-cut accuracy is below this.")] = None,
    output: Annotated[Format, typer.Option("--format")] = Format.text,
) -> None:
    """Route labelled mentions and score the decisions: accuracy, per department, confusion
    matrix, precision and recall, misses. Exit 1 below --min, 2 on a bad file or folder."""
    ruleset = ruleset_or_exit(directory, exit_code=2)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _usage_error(f"cannot read {file}: {exc}")
    items, bad_lines = read_labelled(text, str(file), ruleset.departments)
    if bad_lines:
        for bad in bad_lines:
            typer.echo(str(bad), err=True)
        typer.echo(f"{len(bad_lines)} problem(s) in {file}; nothing was scored", err=True)
        raise typer.Exit(2)
    outcomes = run_labelled(ruleset, items, now=utc_now(), prepare=with_detected_language)
    result = eval_report(outcomes, list(ruleset.departments))
    if output is Format.json:
        typer.echo(json.dumps({**result.to_json(), "file": str(file), "ruleset_version": ruleset.version,
                               "min": minimum, "passed": result.passes(minimum)}, ensure_ascii=False, indent=2))
    else:
        typer.echo(render_report(result, path=str(file), minimum=minimum))
    raise typer.Exit(0 if result.passes(minimum) else 1)


@rules_app.command()
def show(directory: DirArg = DEFAULT_DIR,
         hits: Annotated[bool, typer.Option("--hits", help="Also each rule's matched/decided totals, from the "
                                                           "database (WEBCARE_DATABASE_URL).")] = False) -> None:
    """The version, the files read and the rules in evaluation order."""
    ruleset = _load_or_exit(directory)
    totals = hit_totals() if hits else None
    typer.echo(f"version: {ruleset.version}")
    typer.echo(f"files ({len(ruleset.files)}):")
    for name in ruleset.files:
        typer.echo(f"  {name}")
    typer.echo(f"rules ({len(ruleset.rules)}):")
    width = max((len(r.id) for r in ruleset.rules), default=0)
    for r in ruleset.rules:
        flow = "continue" if r.continue_ else "decides "
        desc = f"  # {r.description}" if r.description else ""
        counted = ""
        if totals is not None:
            tally = totals.get(r.id, HitCount())
            counted = f"  matched {tally.matched:>7} decided {tally.decided:>7}"
        typer.echo(f"  {r.order:>5}  {r.id:<{width}}{counted}  {flow}  {r.then.describe()}{desc}")


rules_app.command("replay")(replay_command)


@rules_app.command("schema")
def schema_command(
    kind: Annotated[str | None, typer.Argument(help="departments, sla, connectors, lists, rules or tests.")] = None,
    write: Annotated[Path | None, typer.Option("--write", help="Write every kind as KIND.json into this folder.")]
    = None,
) -> None:
    """Print the JSON Schema of one rule-file kind (for editors), or list the kinds."""
    if write is not None:
        write.mkdir(parents=True, exist_ok=True)
        for name in jsonschema.KINDS:
            (write / f"{name}.json").write_text(jsonschema.render(name), encoding="utf-8")
            typer.echo(f"wrote {write / f'{name}.json'}")
        return
    if kind is None:
        for name, (_, files) in jsonschema.KINDS.items():
            typer.echo(f"{name:<12} {files}")
        return
    if kind not in jsonschema.KINDS:
        _usage_error(f"unknown kind '{kind}' (known: {', '.join(jsonschema.KINDS)})")
    typer.echo(jsonschema.render(kind), nl=False)


def write_junit(path: Path, results: list[RuleTestResult]) -> None:
    """JUnit XML for CI: one testcase per rule test, classname = the test file."""
    failures = sum(not r.passed for r in results)
    suite = ET.Element("testsuite", name="routing_rules", tests=str(len(results)), failures=str(failures),
                       errors="0")
    for r in results:
        case = ET.SubElement(suite, "testcase", name=r.name, classname=r.file)
        if not r.passed:
            ET.SubElement(case, "failure", message=r.why).text = r.why
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


def _usage_error(message: str) -> NoReturn:
    """Exit 2 with a message, like a command-line parsing error."""
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(2)


def _load_or_exit(directory: Path) -> RuleSet:
    ruleset, problems = check_ruleset(directory)
    if ruleset is None:
        for problem in problems:
            typer.echo(str(problem))
        errors, warnings = count(problems)
        typer.echo(f"{errors} errors, {warnings} warnings")
        raise typer.Exit(1)
    for problem in problems:
        typer.echo(str(problem), err=True)
    return ruleset


def _instant(text: str | None) -> datetime:
    if text is None:
        return utc_now()
    try:
        return parse_instant(text)
    except ValueError as exc:
        _usage_error(f"--now: {exc}")


def _mention_from_file(path: Path) -> Mention:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        _usage_error(f"--mention: cannot read {path}: {exc}")
    if isinstance(data, dict):
        data.setdefault("id", "cli")
    try:
        return MentionIn.model_validate(data).to_mention()
    except ValidationError as exc:
        lines = [f"{'.'.join(str(p) for p in e['loc']) or 'mention'}: {e['msg']}" for e in exc.errors()]
        _usage_error(f"--mention: {path}: " + "; ".join(lines))


def _override(m: Mention, *, channel: str | None, language: str | None, private: bool, handle: str | None,
              followers: int | None, verified: bool) -> Mention:
    """The mention with the options that were given applied on top."""
    author = Author(id=m.author.id, name=m.author.name,
                    handle=handle if handle is not None else m.author.handle,
                    followers=followers if followers is not None else m.author.followers,
                    verified=True if verified else m.author.verified)
    return Mention(external_id=m.external_id, channel=channel or m.channel, text=m.text, author=author,
                   url=m.url, language=language if language is not None else m.language,
                   is_private=private or m.is_private, conversation_id=m.conversation_id,
                   in_reply_to=m.in_reply_to, attachments=m.attachments, posted_at=m.posted_at, extra=m.extra)


__all__ = ["rules_app"]
