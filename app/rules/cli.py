"""`webcare rules ...` (SPEC §4). Placeholder until the rule engine lands."""

import typer

rules_app = typer.Typer(no_args_is_help=True, help="Check, test and explain routing_rules/.")
