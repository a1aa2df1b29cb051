"""`webcare rules quality` and `webcare rules suggest`: what people did with the cases, read from
the database the service uses, against the rule folder."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated

import typer

from app.db import make_engine, make_sessionmaker, transaction
from app.kernel.clock import utc_now
from app.learning.history import Outcome, outcomes_of
from app.learning.patch import changes_for, lists_match, unified_diff
from app.learning.records import case_records
from app.learning.report import report_text, routing_report
from app.learning.suggest import MIN_SUPPORT, suggestions
from app.rules.cli import DEFAULT_DIR, DirArg, Format, ruleset_or_exit
from app.settings import get_settings

SINCE = re.compile(r"^(\d+)([hdw])$")
SinceOpt = Annotated[str, typer.Option("--since", help="how far back cases were opened: 12h, 30d, 8w")]


def parse_since(text: str) -> timedelta:
    """`12h`, `30d`, `8w` as a duration; BadParameter otherwise."""
    match = SINCE.match(text.strip())
    if match is None or int(match.group(1)) == 0:
        raise typer.BadParameter("a positive number of hours, days or weeks, like 12h, 30d or 8w", param_hint="--since")
    return timedelta(**{{"h": "hours", "d": "days", "w": "weeks"}[match.group(2)]: int(match.group(1))})


def window_outcomes(start: datetime, end: datetime) -> list[Outcome]:
    """The outcomes of the cases opened in [start, end), from the service's database."""
    sessions = make_sessionmaker(make_engine(get_settings().effective_database_url))
    with transaction(sessions) as session:
        return outcomes_of(case_records(session, start=start, end=end))


def quality(since: SinceOpt = "30d", format: Annotated[Format, typer.Option()] = Format.text) -> None:
    """The share of cases that stayed with the department the rules chose, per deciding rule (most
    misroutes first) and per (rules' department -> final department), with example cases; cases
    that fell to the default and were handed on by a person apart."""
    end = utc_now()
    start = end - parse_since(since)
    report = routing_report(window_outcomes(start, end), start=start, end=end)
    typer.echo(json.dumps(report.to_json(), indent=2) if format is Format.json else report_text(report), nl=False)
    if format is Format.json:
        typer.echo()


def suggest(directory: DirArg = DEFAULT_DIR, since: SinceOpt = "30d",
            min_support: Annotated[int, typer.Option(min=1, help="cases a term must occur in")] = MIN_SUPPORT) -> None:
    """Propose list items learned from the cases people moved (misrouted, or fallen to the default
    and handed on) as a unified diff of DIR on stdout; what was found, on stderr. Review it, apply
    it (`git apply`), test it with `webcare rules test`, `rules eval` and `rules replay`, commit."""
    ruleset = ruleset_or_exit(directory)
    end = utc_now()
    start = end - parse_since(since)
    matchers: dict[str, Callable[[str], bool]] = {}

    def known(department: str, term: str) -> bool:
        if department not in matchers:
            matchers[department] = lists_match(ruleset, department)
        return matchers[department](term)

    found = suggestions(window_outcomes(start, end), known=known, min_support=min_support)
    for s in found:
        terms = ", ".join(f"{t.term!r} ({t.support}/{s.cases}, elsewhere {t.elsewhere}, score {t.score})"
                          for t in s.terms) or "no term separates them"
        typer.echo(f"{s.department}: {s.cases} cases moved there (e.g. {' '.join(s.examples)}): {terms}", err=True)
    changes = changes_for(ruleset, found, lambda path: (directory / path).read_text(encoding="utf-8"))
    if not changes:
        typer.echo("nothing to suggest", err=True)
        return
    typer.echo(unified_diff(changes, directory.as_posix()), nl=False)


def register(rules_app: typer.Typer) -> None:
    """Add these commands to `webcare rules`."""
    rules_app.command("quality")(quality)
    rules_app.command("suggest")(suggest)

