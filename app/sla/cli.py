"""`webcare sla explain` (SPEC §4): check a policy before it goes live. The shell around the pure
`explain_sla`: it reads the rule folder and the terminal, nothing else."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from app.kernel.timefmt import iso_z
from app.rules.loader import check_ruleset
from app.rules.model import RuleSet
from app.rules.problems import count
from app.rules.schema_tests import parse_instant
from app.sla.explain import (
    SlaExplainError,
    SlaExplanation,
    duration_text,
    explain_sla,
    local_text,
    percent_text,
    step_actions,
)
from app.timekeeping.businesstime import NeverOpenError

sla_app = typer.Typer(no_args_is_help=True, help="Explain SLA policies and deadlines.")


@sla_app.callback()
def sla_group() -> None:
    """Explain SLA policies and deadlines."""
    # A callback keeps `explain` a sub-command even while it is the only one.


class Format(StrEnum):
    text = "text"
    json = "json"


@sla_app.command("explain")
def explain_command(
    policy: Annotated[str, typer.Option("--policy", help="An SLA policy of sla.yaml.")],
    priority: Annotated[str, typer.Option("--priority", help="P1..P4.")],
    department: Annotated[str, typer.Option("--department", help="The department that owns the case.")],
    opened_at: Annotated[str, typer.Option("--opened-at", help="When the case opened, with an offset.")],
    paused: Annotated[list[str] | None, typer.Option(
        "--paused", help="FROM/TO with offsets: a pending_customer stretch (holds resolution). Repeatable.")] = None,
    output: Annotated[Format, typer.Option("--format")] = Format.text,
    rules_dir: Annotated[Path | None, typer.Option(
        "--rules-dir", help="The routing rules folder (default: WEBCARE_RULES_DIR, else routing_rules).")] = None,
) -> None:
    """Each timer's deadline in UTC and local time, its warning and escalation steps, and the open
    intervals it runs through."""
    start = _instant(opened_at, "--opened-at")
    pauses = [_pause(text) for text in paused or []]
    ruleset = _load_or_exit(rules_dir)
    try:
        result = explain_sla(ruleset, policy=policy, priority=priority, department=department,
                             opened_at=start, pauses=pauses)
    except SlaExplainError as exc:
        _usage_error(str(exc))
    except NeverOpenError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if output is Format.json:
        typer.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        typer.echo(render_text(result))


def render_text(result: SlaExplanation) -> str:
    """A human summary: one block per timer."""
    lines = [f"policy {result.policy.name}, priority {result.priority}, department {result.department}, "
             f"opened {iso_z(result.opened_at)}"]
    lines += [f"paused {iso_z(f)} / {iso_z(t)}" for f, t in result.pauses]
    for plan in result.timers:
        cal = plan.calendar
        lines += ["", f"{plan.timer}: {plan.duration} on calendar {cal.name} ({cal.timezone})",
                  f"  due      {iso_z(plan.due)}  {local_text(plan.due, cal)}",
                  f"  warning  {iso_z(plan.warning)}  {local_text(plan.warning, cal)}"
                  f"  ({percent_text(result.policy.warn_at)})"]
        for step, when in plan.steps:
            actions = ", ".join(f"{k} {v}" if v is not True else k for k, v in step_actions(step).items())
            lines.append(f"  at {percent_text(step.after):<6}{iso_z(when)}  {local_text(when, cal)}  {actions}")
        lines.append(f"  open intervals ({len(plan.spans)}):")
        lines += [f"    {local_text(s, cal)} - {local_text(e, cal)}  {duration_text(e - s)}" for s, e in plan.spans]
    if result.notes:
        lines += ["", *(f"note: {n}" for n in result.notes)]
    return "\n".join(lines)


def _usage_error(message: str) -> NoReturn:
    """Exit 2 with a message, like a command-line parsing error. (Typer vendors its own click, so
    raising click's exceptions here would not be recognised as usage errors.)"""
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(2)


def _instant(text: str, option: str) -> datetime:
    try:
        return parse_instant(text)
    except ValueError as exc:
        _usage_error(f"{option}: {exc}")


def _pause(text: str) -> tuple[datetime, datetime]:
    parts = text.split("/")
    if len(parts) != 2:
        _usage_error(f"--paused: '{text}' is not FROM/TO")
    start, end = _instant(parts[0], "--paused"), _instant(parts[1], "--paused")
    if end <= start:
        _usage_error(f"--paused: '{text}' ends before it starts")
    return start, end


def _load_or_exit(rules_dir: Path | None) -> RuleSet:
    if rules_dir is None:
        from app.settings import get_settings

        rules_dir = get_settings().rules_dir
    ruleset, problems = check_ruleset(rules_dir)
    if ruleset is None:
        for problem in problems:
            typer.echo(str(problem), err=True)
        errors, warnings = count(problems)
        typer.echo(f"{rules_dir} does not load: {errors} errors, {warnings} warnings "
                   f"(see `webcare rules check`)", err=True)
        raise typer.Exit(1)
    return ruleset
