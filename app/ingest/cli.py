"""`webcare inbound ...`: ops commands for inbound platform deliveries (mounted by `app.cli`)."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.orm import Session, sessionmaker

from app.audit import cli_actor
from app.audit.service import ActorLike
from app.db import transaction
from app.ingest.dead_letters import pending_dead_letters, replay_dead_letter
from app.ingest.models import InboundDeadLetter
from app.kernel.clock import utc_now
from app.kernel.errors import Conflict
from app.rules import RuleSet

inbound_app = typer.Typer(no_args_is_help=True, add_completion=False,
                          help="Inbound platform deliveries: dead letters and their replay.")


@inbound_app.callback()
def inbound() -> None:
    """Inbound platform deliveries: dead letters and their replay."""


def replay_pending(sessions: sessionmaker[Session], ruleset: RuleSet, *, actor: ActorLike,
                   ids: list[int] | None = None, connector: str | None = None) -> list[tuple[int, bool, str]]:
    """Replay pending dead letters oldest first, each in its own transaction (and audited in it);
    returns per letter `(id, replayed, line)`. A letter that still fails stays pending."""
    with transaction(sessions) as session:
        letter_ids = [letter.id for letter in pending_dead_letters(session, connector=connector, ids=ids)]
    results: list[tuple[int, bool, str]] = []
    for letter_id in letter_ids:
        with transaction(sessions) as session:
            letter = session.get_one(InboundDeadLetter, letter_id)
            try:
                outcome = replay_dead_letter(session, letter, ruleset=ruleset, now=utc_now(), actor=actor)
            except Conflict as exc:
                results.append((letter_id, False, f"dead letter {letter_id} ({letter.connector}): {exc.detail}"))
                continue
            counts = ", ".join(f"{k} {v}" for k, v in outcome.result.to_json().items() if k != "cases")
            state = "replayed" if outcome.replayed else f"still failing: {letter.error}"
            results.append((letter_id, outcome.replayed, f"dead letter {letter_id} ({letter.connector}): {state}; "
                                                         f"{counts}"))
    return results


@inbound_app.command("replay")
def replay(
    letter_id: Annotated[list[int] | None, typer.Option("--id", help="replay only these dead letters")] = None,
    connector: Annotated[str | None, typer.Option(help="replay only this connector's dead letters")] = None,
) -> None:
    """Process pending inbound dead letters again (after a fix), with the current adapters and rules.
    Prints one line per letter; exits 1 when any still fails."""
    from app.db import make_engine, make_sessionmaker
    from app.rules.cli import ruleset_or_exit
    from app.settings import get_settings

    settings = get_settings()
    ruleset = ruleset_or_exit(settings.rules_dir)
    engine = make_engine(settings.effective_database_url)
    try:
        results = replay_pending(make_sessionmaker(engine), ruleset, actor=cli_actor(), ids=letter_id or None,
                                 connector=connector)
    finally:
        engine.dispose()
    for _, _, line in results:
        typer.echo(line)
    typer.echo(f"{sum(ok for _, ok, _ in results)} replayed, {sum(not ok for _, ok, _ in results)} still pending",
               err=True)
    if not all(ok for _, ok, _ in results):
        raise typer.Exit(1)
