"""Helpers for rule-engine tests: a small valid folder written into tmp_path, with the parts a
test cares about replaced."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from app.mentions.model import Author, Mention

FIXTURES = Path(__file__).parent / "fixtures"
GOOD = FIXTURES / "good"
BROKEN = FIXTURES / "broken"

# Monday 2 March 2026, 10:15 in Amsterdam: office hours.
MONDAY_MORNING = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
# The same Monday at 23:40 in Amsterdam: the office is closed.
MONDAY_NIGHT = datetime(2026, 3, 2, 22, 40, tzinfo=UTC)

DEPARTMENTS = """\
defaults: {department: webcare, category: general, priority: P3, sla_policy: standard}
departments:
  - {id: webcare, name: Webcare, calendar: always}
  - {id: network, name: Netwerk, calendar: always}
  - {id: billing, name: Facturatie, calendar: office}
  - {id: press, name: Pers, calendar: office}
"""
SLA = """\
calendars:
  always: {timezone: Europe/Amsterdam, hours: 24/7}
  office:
    timezone: Europe/Amsterdam
    hours: {mon-fri: ["08:00-18:00"]}
policies:
  standard: &p
    first_response: {P1: 15m, P2: 30m, P3: 1h, P4: 4h}
    next_response: {P1: 30m, P2: 1h, P3: 2h, P4: 8h}
    department_ack: {P1: 30m, P2: 2h, P3: 4h, P4: 1d}
    resolution: {P1: 4h, P2: 1d, P3: 2d, P4: 5d}
  urgent: *p
"""
# Rules sending something to each department, so that a folder is clean under `check --strict`.
ROUTE_EVERY_DEPARTMENT = """\
  - {id: to-network, order: 900, when: {channel: network-only}, then: {department: network}}
  - {id: to-billing, order: 910, when: {channel: billing-only}, then: {department: billing}}
  - {id: to-press, order: 920, when: {channel: press-only}, then: {department: press}}
"""
CONNECTORS = """\
connectors:
  - {name: listening-tool, kind: standard, secret_env: LISTENING_SECRET}
"""


def write_folder(root: Path, *, rules: str = "rules: []\n", lists: dict[str, str] | None = None,
                 tests: dict[str, str] | None = None, departments: str = DEPARTMENTS, sla: str = SLA,
                 connectors: str = CONNECTORS, extra: dict[str, str] | None = None) -> Path:
    """Write a routing_rules folder; returns its path."""
    files = {"departments.yaml": departments, "sla.yaml": sla, "connectors.yaml": connectors,
             "rules/rules.yaml": rules}
    files |= {f"lists/{name}.yaml": text for name, text in (lists or {}).items()}
    files |= {f"tests/{name}.yaml": text for name, text in (tests or {}).items()}
    files |= extra or {}
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root


def mention(text: str = "hallo", *, channel: str = "x", language: str | None = None, private: bool = False,
            handle: str | None = None, followers: int | None = None, verified: bool | None = None) -> Mention:
    return Mention(external_id="t", channel=channel, text=text, language=language, is_private=private,
                   author=Author(handle=handle, followers=followers, verified=verified))
