"""Histories built through the real services: mentions ingested and routed by the rules, then
handed on or rerouted by people, each case in its own committed transaction."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from app.auth.service import Principal
from app.cases.actions import ActionRequest, perform_action
from app.cases.models import Case
from app.db import transaction
from app.ingest.service import ingest_mentions
from app.ingest.standard import ParsedItem
from app.mentions.model import Author, Mention
from app.rules import RuleSet
from tests.conftest import REPO

AGENT = Principal(kind="user", name="ann", role="agent")


def department(name: str) -> Principal:
    return Principal(kind="department", name=name, department=name)


@dataclass(frozen=True)
class Step:
    """A handoff to `to` by an agent (`by=None`), a reroute by the owning department (`by` its id;
    `to=None`: back to triage), or with neither an agent's `resolve`."""

    to: str | None
    by: str | None = None


def seed(sessions: sessionmaker[Session], ruleset: RuleSet, cases: Sequence[tuple[str, Sequence[Step]]], *,
         start: datetime, account: str | None = None) -> list[str]:
    """One case per (text, steps), a minute apart from `start`; returns their refs."""
    refs = []
    for n, (text, steps) in enumerate(cases):
        now = start + timedelta(minutes=n)
        with transaction(sessions) as session:
            mention = Mention(external_id=f"seed-{start.timestamp()}-{n}", channel="x", text=text,
                              author=Author(id=f"a{n}"),
                              account=account)
            result = ingest_mentions(session, ruleset=ruleset, connector="listening-tool",
                                     items=[ParsedItem(mention, {})], received_at=now)
            [ref] = result.cases
            case = session.get_one(Case, int(ref[3:]))
            for step in steps:
                if step.to is None and step.by is None:
                    perform_action(session, case, ActionRequest("resolve", {}), principal=AGENT, ruleset=ruleset,
                                   now=now)
                elif step.by is None:
                    request = ActionRequest("handoff", {"department": step.to, "reason": "belongs there"})
                    perform_action(session, case, request, principal=AGENT, ruleset=ruleset, now=now)
                else:
                    params = {"reason": "not ours", **({"department": step.to} if step.to else {})}
                    perform_action(session, case, ActionRequest("reroute", params), principal=department(step.by),
                                   ruleset=ruleset, now=now)
            refs.append(ref)
    return refs


def webcare(env: dict[str, str], *args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    """`webcare ARGS` as a process against `env` (in `cwd`)."""
    return subprocess.run([sys.executable, "-m", "app", *args], env={**os.environ, **env}, cwd=cwd,
                          capture_output=True, text=True, timeout=120)
