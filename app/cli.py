"""`webcare`: the command line (SPEC §4). Each feature package contributes its own sub-commands."""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path
from typing import Annotated

import httpx
import typer
import yaml

import app.case_handlers  # noqa: F401  (registers what every case change does: timers, outbox, replies)
from app.auth.cli import tokens_app, users_app
from app.delivery.cli import departments_app
from app.ingest.cli import inbound_app
from app.kernel.clock import utc_now
from app.kernel.timefmt import iso_z
from app.learning.cli import register as register_learning
from app.rules.cli import rules_app
from app.settings import get_settings
from app.sla.cli import sla_app

cli = typer.Typer(no_args_is_help=True, add_completion=False, help="Webcare Router")
register_learning(rules_app)
cli.add_typer(rules_app, name="rules")
cli.add_typer(sla_app, name="sla")
cli.add_typer(users_app, name="users")
cli.add_typer(tokens_app, name="tokens")
cli.add_typer(inbound_app, name="inbound")
cli.add_typer(departments_app, name="departments")


@cli.command()
def migrate() -> None:
    """Bring the database to the newest schema."""
    from app.db import make_engine
    from app.migrate import upgrade_to_head

    settings = get_settings()
    upgrade_to_head(make_engine(settings.effective_database_url))
    typer.echo("database is up to date", err=True)


@cli.command()
def backup(target: Annotated[Path, typer.Argument(help="a new file to write the copy to")]) -> None:
    """Write a consistent copy of the database while the service runs (SQLite backup API, or pg_dump)."""
    from app.backup import BackupError, backup_database

    settings = get_settings()
    try:
        how = backup_database(settings.effective_database_url, target)
    except BackupError as exc:
        typer.echo(f"backup failed: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"backup written to {target} ({how})", err=True)


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="default: WEBCARE_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="default: WEBCARE_PORT")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="serving processes (PostgreSQL only)")] = 1,
) -> None:
    """Migrate, then serve the API and the UI, with the workers unless WEBCARE_WORKERS_ENABLED=false."""
    from app.db import make_engine
    from app.migrate import upgrade_to_head
    from app.observability import configure_logging
    from app.rules import RuleSetError
    from app.secrets import private_directory
    from app.server import build_served_app
    from app.server import serve as serve_http
    from app.ui.bootstrap import first_start_admin, first_start_message

    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    private_directory(settings.var_dir)
    engine = make_engine(settings.effective_database_url)
    upgrade_to_head(engine)
    if settings.env == "development" and (password := first_start_admin(engine)):
        typer.echo(first_start_message(password), err=True)
    if workers > 1 and engine.dialect.name != "postgresql":
        typer.echo("--workers needs PostgreSQL: SQLite is the single-process embedded database", err=True)
        raise typer.Exit(2)
    engine.dispose()
    try:
        # Built here even with --workers: a broken rule folder or a missing secret stops the start
        # with its message once, instead of in every worker process.
        app = build_served_app(settings, warm=workers == 1)
    except RuleSetError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(1) from exc
    except RuntimeError as exc:
        typer.echo(f"cannot start: {exc}", err=True)
        raise typer.Exit(1) from exc
    serve_http(app if workers == 1 else None, host=host or settings.host, port=port or settings.port,
               workers=workers, grace_seconds=settings.shutdown_grace_seconds)


@cli.command()
def worker() -> None:
    """Run the background workers only (delivery, ...), without the HTTP server."""
    import asyncio
    import signal

    from app.db import make_engine, make_sessionmaker
    from app.kernel.clock import utc_now
    from app.migrate import upgrade_to_head
    from app.observability import configure_logging, protect_logs
    from app.rules import RuleSetError
    from app.rules.hits import HitCounter
    from app.rules.holder import holder_for
    from app.rules.runtime import new_process_id, runtime_from_settings
    from app.secrets import SecretStore
    from app.workers import Workers

    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    protect_logs(*settings.secret_values)
    engine = make_engine(settings.effective_database_url)
    upgrade_to_head(engine)
    try:
        rules = holder_for(settings.rules_dir, now=utc_now())
    except RuleSetError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(1) from exc
    secrets = SecretStore(production=settings.env == "production", var_dir=settings.var_dir)
    sessions = make_sessionmaker(engine)
    runtime = runtime_from_settings(rules, HitCounter(), sessions, settings, kind="worker",
                                    process_id=new_process_id())

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        loop.add_signal_handler(signal.SIGHUP, runtime.request_reload, "SIGHUP")
        runtime.start()
        try:
            await Workers(sessions, rules, secrets, retention=settings.retention_policy,
                          incident_check_seconds=settings.incident_check_seconds).run_until(stop)
        finally:
            runtime.stop()

    asyncio.run(run())


@cli.command()
def send(
    connector: Annotated[str, typer.Option(help="a `standard` connector of routing_rules/connectors.yaml")],
    text: Annotated[str, typer.Option(help="the mention's text")],
    url: Annotated[str | None, typer.Option(help="the service's base URL")] = None,
    channel: Annotated[str, typer.Option()] = "x",
    handle: Annotated[str | None, typer.Option(help="the author's handle, e.g. @jan")] = None,
) -> None:
    """Sign and post one mention through a `standard` connector, with the secret the service uses."""
    from app.delivery.signing import sign_payload
    from app.rules.loader import check_ruleset, read_connectors_only
    from app.rules.problems import count
    from app.secrets import SecretStore

    settings = get_settings()
    # Signing needs only the connector's secret name: a folder with errors elsewhere (being edited)
    # must not stop a test mention; the service decides what to do with it.
    ruleset, problems = check_ruleset(settings.rules_dir)
    if ruleset is not None:
        connectors = dict(ruleset.connectors)
    else:
        typer.echo(f"warning: {settings.rules_dir} has {count(problems)[0]} error(s) (webcare rules check lists "
                   "them); sending anyway with the connector from connectors.yaml", err=True)
        connectors = read_connectors_only(settings.rules_dir)
    config = connectors.get(connector)
    if config is None or config.kind != "standard" or not config.secret_env:
        typer.echo(f"no standard connector named {connector!r} in {settings.rules_dir}", err=True)
        raise typer.Exit(2)
    secret = SecretStore(production=settings.env == "production", var_dir=settings.var_dir).get(
        config.secret_env, webhook=True)
    mention = {"id": f"cli-{uuid.uuid4().hex[:16]}", "channel": channel, "text": text,
               "author": {"handle": handle} if handle else {},
               "created_at": iso_z(utc_now().replace(microsecond=0))}
    body = json.dumps(mention).encode()
    headers = sign_payload([secret], f"msg_{uuid.uuid4().hex}", int(time.time()), body)
    base = (url or f"http://{settings.host}:{settings.port}").rstrip("/")
    try:
        response = httpx.post(f"{base}/webhooks/{connector}", content=body,
                              headers={**headers, "content-type": "application/json"}, timeout=30)
    except httpx.HTTPError as exc:
        typer.echo(f"cannot reach {base}: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(response.text)
    if response.status_code != 200:
        raise typer.Exit(1)


@cli.command()
def openapi() -> None:
    """Print the OpenAPI document the service serves, as YAML (the committed openapi.yaml)."""
    from app.main import api_shell

    sys.stdout.write(openapi_yaml(api_shell().openapi()))


def openapi_yaml(spec: dict[str, object]) -> str:
    """The spec as stable YAML."""
    return yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, width=120)


def main() -> None:
    """Console-script entry point."""
    cli()
