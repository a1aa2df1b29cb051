"""The `webcare rules` commands that read the service's database (WEBCARE_DATABASE_URL): `replay`
(stored mentions, classified by both folders, fed to the pure comparison of `app.rules.replay`)
and the hit totals of `show --hits`."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.kernel.clock import utc_now
from app.rules.evaluate import classify
from app.rules.hits import HitCount, read_hits
from app.rules.model import RuleSet
from app.rules.replay import Replayed, compare, parse_since, render_text


class ReplayFormat(StrEnum):
    text = "text"
    json = "json"


def replay_stored(session: Session, baseline: RuleSet, candidate: RuleSet, *, since: datetime,
                  limit: int | None) -> Iterator[Replayed]:
    """The mentions received since `since` (the newest `limit` of them), newest first, each
    classified as it was received (its own `received_at`, its connector) by both rule sets."""
    from app.kernel.refs import format_ref
    from app.mentions.stored import StoredMention, as_mention

    query = (select(StoredMention).where(StoredMention.received_at >= since)
             .order_by(StoredMention.received_at.desc(), StoredMention.id.desc()))
    if limit is not None:
        query = query.limit(limit)
    for row in session.scalars(query.execution_options(yield_per=500)):
        mention = as_mention(row)
        yield Replayed(format_ref(row.case_id), row.external_id, row.text,
                       classify(baseline, mention, row.received_at, connector=row.connector),
                       classify(candidate, mention, row.received_at, connector=row.connector))


def count_stored(session: Session, *, since: datetime, limit: int | None) -> int:
    """How many mentions `replay_stored` will yield (for the progress bar)."""
    from app.mentions.stored import StoredMention

    total = session.scalar(select(func.count()).select_from(StoredMention)
                           .where(StoredMention.received_at >= since)) or 0
    return total if limit is None else min(total, limit)


def replay_command(
    directory: Annotated[Path, typer.Argument(help="The running rule folder (the baseline).")] = Path("routing_rules"),
    against: Annotated[Path, typer.Option("--against", help="The candidate rule folder.")] = ...,  # type: ignore[assignment]
    since: Annotated[str, typer.Option("--since", help="30m, 24h, 7d, 2w or an instant with an offset.")] = "7d",
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Only the newest N mentions.")] = None,
    output: Annotated[ReplayFormat, typer.Option("--format")] = ReplayFormat.text,
) -> None:
    """Classify the mentions stored in the database (WEBCARE_DATABASE_URL) in the period again with
    the candidate folder and print what would change, against the running folder."""
    from app.db import make_engine, make_sessionmaker
    from app.rules.cli import ruleset_or_exit
    from app.settings import get_settings

    now = utc_now()
    try:
        start = parse_since(since, now=now)
    except ValueError as exc:
        typer.echo(f"Error: --since: {exc}", err=True)
        raise typer.Exit(2) from exc
    baseline, candidate = ruleset_or_exit(directory), ruleset_or_exit(against)
    engine = make_engine(get_settings().effective_database_url)
    try:
        with make_sessionmaker(engine)() as session:
            total = count_stored(session, since=start, limit=limit)
            replayed = replay_stored(session, baseline, candidate, since=start, limit=limit)
            if sys.stderr.isatty():
                with typer.progressbar(replayed, length=total, label="replaying", file=sys.stderr) as bar:
                    report = compare(bar, baseline=baseline.version, candidate=candidate.version, since=start)
            else:
                report = compare(replayed, baseline=baseline.version, candidate=candidate.version, since=start)
    finally:
        engine.dispose()
    if output is ReplayFormat.json:
        typer.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        typer.echo(render_text(report))


def hit_totals() -> dict[str, HitCount]:
    """Every rule's hit totals from the service's database; exit 1 naming the problem when it
    cannot be read."""
    from sqlalchemy.exc import SQLAlchemyError

    from app.db import make_engine
    from app.settings import get_settings

    engine = make_engine(get_settings().effective_database_url)
    try:
        with Session(engine) as session:
            return {rule_id: count for rule_id, (count, _) in read_hits(session).items()}
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        typer.echo(f"cannot read the hit counts from the database: {type(exc).__name__}: {reason}", err=True)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
