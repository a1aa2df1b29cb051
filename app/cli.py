"""`webcare`: the command line (SPEC §4). Each feature package contributes its own sub-commands."""

from __future__ import annotations

import typer

from app.rules.cli import rules_app

cli = typer.Typer(no_args_is_help=True, add_completion=False, help="Webcare Router")
cli.add_typer(rules_app, name="rules")


def main() -> None:
    """Console-script entry point."""
    cli()
