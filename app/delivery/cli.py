"""`webcare departments ping ID`: test a department's webhook endpoint from the command line."""

from __future__ import annotations

from typing import Annotated

import typer

from app.audit import cli_actor

departments_app = typer.Typer(no_args_is_help=True, add_completion=False, help="Department systems.")


@departments_app.callback()
def departments() -> None:
    """Department systems: test their webhook endpoints."""


@departments_app.command("ping")
def ping(department: Annotated[str, typer.Argument(help="the department id in departments.yaml")]) -> None:
    """Send one signed `ping` event to the department's webhook now and print the answer: status and
    latency, or why it failed. Exit 0 when it answered 2xx, 1 otherwise, 2 when the department has
    no webhook. Recorded in the audit log with the account that ran it."""
    from app.db import make_engine, make_sessionmaker, transaction
    from app.delivery.ping import NoWebhook, audit_ping, send_ping
    from app.kernel.clock import utc_now
    from app.rules.cli import ruleset_or_exit
    from app.secrets import SecretStore
    from app.settings import get_settings

    settings = get_settings()
    ruleset = ruleset_or_exit(settings.rules_dir)
    secrets = SecretStore(production=settings.env == "production", var_dir=settings.var_dir)
    now = utc_now()
    try:
        result = send_ping(ruleset, secrets, department, now=now)
    except NoWebhook as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    engine = make_engine(settings.effective_database_url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            audit_ping(session, cli_actor(), result, now)
    finally:
        engine.dispose()
    outcome = f"{result.status_code} in {result.latency_ms} ms" if result.ok \
        else f"failed: {result.error} in {result.latency_ms} ms"
    typer.echo(f"{department} {result.url}: {outcome}")
    if not result.ok:
        raise typer.Exit(1)
