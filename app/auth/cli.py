"""`webcare users ...` and `webcare tokens ...`. Every change is audited with the account that ran
the command as its actor (`app.audit.cli_actor`)."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.audit import cli_actor
from app.auth.models import ROLES, ApiToken, User
from app.auth.service import (
    AuthError,
    HashedPassword,
    add_user,
    create_token,
    deactivate_user,
    get_user,
    hashed_password,
    revoke_token,
    set_password,
    set_role,
)
from app.auth.throttle import clear, throttled
from app.db import make_engine, make_sessionmaker, transaction
from app.kernel.clock import utc_now
from app.settings import get_settings

users_app = typer.Typer(no_args_is_help=True, help="Manage users (agents, leads, ops).")
tokens_app = typer.Typer(no_args_is_help=True, help="Manage API tokens.")


def _sessions() -> sessionmaker[Session]:
    return make_sessionmaker(make_engine(get_settings().effective_database_url))


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(1)


@contextmanager
def _unit_of_work() -> Iterator[Session]:
    """One transaction; an AuthError (unknown user, short password, ...) ends the command with exit 1."""
    try:
        with transaction(_sessions()) as session:
            yield session
    except AuthError as exc:
        raise _fail(exc) from exc


def _hashed(password: str) -> HashedPassword:
    """Hashed before the transaction opens (argon2 must not hold the database's write lock)."""
    try:
        return hashed_password(password)
    except AuthError as exc:
        raise _fail(exc) from exc


def _ask_password() -> str:
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise AuthError("the passwords differ")
    return first


@users_app.command("add")
def users_add(
    name: str,
    role: Annotated[str, typer.Option(help="agent, lead or ops")],
    password: Annotated[str | None, typer.Option(help="asked for when left out")] = None,
) -> None:
    """Add a user."""
    hashed = _hashed(password or _ask_password())
    with _unit_of_work() as session:
        add_user(session, username=name, role=role, password=hashed, now=utc_now(), actor=cli_actor())
    typer.echo(f"added {name} ({role})", err=True)


@users_app.command("passwd")
def users_passwd(name: str,
                 password: Annotated[str | None, typer.Option(help="asked for when left out")] = None) -> None:
    """Set a user's password."""
    hashed = _hashed(password or _ask_password())
    with _unit_of_work() as session:
        set_password(session, username=name, password=hashed, now=utc_now(), actor=cli_actor())
    typer.echo(f"password of {name} changed", err=True)


@users_app.command("role")
def users_role(name: str, role: Annotated[str, typer.Argument(help=", ".join(ROLES))]) -> None:
    """Give a user another role (from their next request on)."""
    with _unit_of_work() as session:
        before = get_user(session, name).role
        set_role(session, username=name, role=role, now=utc_now(), actor=cli_actor())
    typer.echo(f"{name} is {role}" + (" (unchanged)" if before == role else f" (was {before})"), err=True)


@users_app.command("deactivate")
def users_deactivate(name: str) -> None:
    """Deactivate a user and revoke their tokens."""
    with _unit_of_work() as session:
        deactivate_user(session, username=name, now=utc_now(), actor=cli_actor())
    typer.echo(f"deactivated {name}", err=True)


@users_app.command("throttled")
def users_throttled() -> None:
    """Usernames and client addresses with failed logins counted: key, failures, last failure and
    until when it is blocked (the login throttle)."""
    now = utc_now()
    with transaction(_sessions()) as session:
        for row in throttled(session, now=now):
            blocked = (f"blocked until {row.blocked_until:%Y-%m-%d %H:%M:%S}Z"
                       if row.blocked_until and row.blocked_until > now else "not blocked")
            typer.echo(f"{row.key}\t{row.failures} failures\tlast {row.last_failure_at:%Y-%m-%d %H:%M:%S}Z\t{blocked}")


@users_app.command("unblock")
def users_unblock(key: Annotated[str, typer.Argument(help="user:NAME or addr:IP, as `users throttled` shows")],
                  ) -> None:
    """Forget the failed logins of one username or address, ending its block at once."""
    with _unit_of_work() as session:
        if not clear(session, key):
            raise AuthError(f"no failed logins counted for {key}")
    typer.echo(f"unblocked {key}", err=True)


@tokens_app.command("create")
def tokens_create(
    user: Annotated[str | None, typer.Option(help="the user the token acts as")] = None,
    department: Annotated[str | None, typer.Option(help="the department (id in departments.yaml)")] = None,
    integration: Annotated[str | None, typer.Option(
        help="an integration's name (a survey tool): the token may only post customer feedback")] = None,
    label: Annotated[str | None, typer.Option()] = None,
    expires_in: Annotated[str | None, typer.Option(help="e.g. 90d or 12h; never expires when left out")] = None,
) -> None:
    """Create a token; prints the token alone on stdout (shown once, stored only as a hash)."""
    if [user, department, integration].count(None) != 2:
        typer.echo("give exactly one of --user, --department or --integration", err=True)
        raise typer.Exit(2)
    now = utc_now()
    expires_at = None
    if expires_in is not None:
        from app.timekeeping.policy import parse_duration

        try:
            length = parse_duration(expires_in)
        except ValueError as exc:
            typer.echo(f"--expires-in: {exc}", err=True)
            raise typer.Exit(2) from exc
        expires_at = now + timedelta(seconds=length.amount * {"s": 1, "m": 60, "h": 3600, "d": 86400}[length.unit])
    if department is not None:
        from app.rules.cli import ruleset_or_exit

        known = ruleset_or_exit(get_settings().rules_dir).departments
        if department not in known:
            raise _fail(AuthError(f"no department {department!r}; known: {', '.join(sorted(known))}"))
    with _unit_of_work() as session:
        owner = get_user(session, user) if user else None
        if owner is not None and not owner.active:
            raise AuthError(f"user {user} is deactivated")
        row, token = create_token(session, now=now, actor=cli_actor(), user=owner, department=department,
                                  integration=integration,
                                  label=label, expires_at=expires_at)
    until = f", expires {expires_at:%Y-%m-%d %H:%M}Z" if expires_at else ""
    owner_text = user or (f"department {department}" if department else f"integration {integration}")
    typer.echo(f"token {row.id} created for {owner_text}{until}", err=True)
    typer.echo(token)


@tokens_app.command("list")
def tokens_list() -> None:
    """List tokens (never their values): id, prefix, owner, state, last use (to the minute), label."""
    with transaction(_sessions()) as session:
        rows = session.execute(select(ApiToken, User.username).outerjoin(User, User.id == ApiToken.user_id)
                               .order_by(ApiToken.id)).all()
        for token, username in rows:
            owner = (f"user:{username}" if username else f"department:{token.department}" if token.department
                     else f"integration:{token.integration}")
            state = (f"revoked {token.revoked_at:%Y-%m-%d}" if token.revoked_at
                     else f"expires {token.expires_at:%Y-%m-%d %H:%M}Z" if token.expires_at else "active")
            used = f"used {token.last_used_at:%Y-%m-%d %H:%M}Z" if token.last_used_at else "never used"
            typer.echo(f"{token.id}	{token.prefix}…	{owner}	{state}	{used}	{token.label or ''}")


@tokens_app.command("revoke")
def tokens_revoke(token_id: int) -> None:
    """Revoke a token at once."""
    with _unit_of_work() as session:
        revoke_token(session, token_id=token_id, now=utc_now(), actor=cli_actor())
    typer.echo(f"revoked token {token_id}", err=True)
