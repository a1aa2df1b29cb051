"""Recording and reading the audit log. Service functions: they take the session, may flush,
never commit (the entry commits, or rolls back, with the change it describes)."""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.actions import ACTIONS
from app.audit.models import AuditEntry
from app.db import newest_first_page

ACTOR_TYPES = ("user", "department", "integration", "cli", "system")

FORBIDDEN_DETAIL_KEYS = frozenset({"password", "password_hash", "token", "token_hash", "secret", "text", "body",
                                   "handle", "author", "author_id", "name", "display_name", "email"})
"""Keys an entry's details may not have: secrets, and the personal data of the people whose
mentions are routed. The log says that something changed, never the secret or the person."""


class ActorLike(Protocol):
    """Anything that names who acted: an `Actor`, or `app.auth.service.Principal` (kind `user` or
    `department`, whose `name` is the username or department id)."""

    @property
    def kind(self) -> str: ...

    @property
    def name(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acted. `kind` is one of `ACTOR_TYPES`; `name` a username, department id, the account
    that ran a command (`cli`), or what in the service acted (`system`: `rules watcher`, ...).
    `via` says how a person's change came in (`api`, `ui`, `cli`)."""

    kind: str
    name: str
    via: str | None = None

    @classmethod
    def ui(cls, username: str) -> Actor:
        """A logged-in user acting in the web UI."""
        return cls("user", username, "ui")


SYSTEM = Actor("system", "system")
"""The service itself, when no person asked (a file change, SIGHUP, a `410 Gone`)."""


def cli_actor() -> Actor:
    """The account running a `webcare` command: `SUDO_USER` when it runs under sudo (the person),
    else the login name. Commands reach the database directly, so this is who ran them, not a
    webcare user."""
    name = os.environ.get("SUDO_USER") or _login_name()
    return Actor("cli", name[:128], "cli")


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container user without a passwd entry
        return f"uid:{os.getuid()}"


def record(session: Session, actor: ActorLike, action: str, target: str, details: Mapping[str, Any] | None,
           now: datetime) -> AuditEntry:
    """Add one audit entry in the caller's transaction (committed or rolled back with the change).

    `action` is one of `ACTIONS`; `target` what was changed (`user:ann`, `token:12`,
    `department:billing`, ...); `details` a small JSON object of the change's facts. Raises
    ValueError for an unknown action or actor type, or details with a key of
    `FORBIDDEN_DETAIL_KEYS` (a programming error: the log must never hold a secret or a customer's
    personal data). A `Principal` acting over the API is recorded with `via: api`."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if actor.kind not in ACTOR_TYPES:
        raise ValueError(f"unknown actor type {actor.kind!r}")
    forbidden = FORBIDDEN_DETAIL_KEYS.intersection(details or {})
    if forbidden:
        raise ValueError(f"audit details may not hold {', '.join(sorted(forbidden))}")
    via = actor.via if isinstance(actor, Actor) else "api"
    facts = dict(details or {})
    if via is not None and actor.kind != "system":
        facts.setdefault("via", via)
    entry = AuditEntry(at=now, actor_type=actor.kind, actor=actor.name[:128], action=action, target=target[:200],
                       details=facts)
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class AuditFilter:
    """Filters of `GET /api/v1/audit`: `since` inclusive, `until` exclusive; several actors or
    actions are OR-ed, filters AND-ed. `before_id` is the keyset position (newest first)."""

    since: datetime | None = None
    until: datetime | None = None
    actor: Sequence[str] = ()
    action: Sequence[str] = ()
    before_id: int | None = None
    limit: int = 50


def list_entries(session: Session, filters: AuditFilter) -> tuple[list[AuditEntry], int | None]:
    """One page of entries, newest first (by id: the order they were recorded), and the id to
    continue below (None on the last page)."""
    query = select(AuditEntry)
    if filters.since is not None:
        query = query.where(AuditEntry.at >= filters.since)
    if filters.until is not None:
        query = query.where(AuditEntry.at < filters.until)
    if filters.actor:
        query = query.where(AuditEntry.actor.in_(filters.actor))
    if filters.action:
        query = query.where(AuditEntry.action.in_(filters.action))
    return newest_first_page(session, query, AuditEntry.id, before_id=filters.before_id, limit=filters.limit)
