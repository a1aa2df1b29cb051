"""What a candidate rule folder would change, worked out on mentions already received (`webcare
rules replay`). Pure: the caller reads the stored mentions and classifies each with both rule sets.

A mention's routing is compared field by field (department, priority, SLA policy); the changes are
grouped by (field, old value -> new value) with the number of mentions and of distinct cases, the
rules responsible and a few example mentions.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.rules.decision import Decision

FIELDS = ("department", "priority", "sla_policy")
EXAMPLES_PER_SHIFT = 3
_RELATIVE = re.compile(r"^(\d+)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, *, now: datetime) -> datetime:
    """The start of the period: `now` minus `30m`, `24h`, `7d` or `2w`, or an ISO 8601 instant
    with an offset. Raises ValueError naming what is accepted."""
    match = _RELATIVE.match(text.strip())
    if match:
        return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        instant = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        raise ValueError(f"{text!r}: give a duration (30m, 24h, 7d, 2w) or an instant with an offset")
    return instant


@dataclass(frozen=True, slots=True)
class Replayed:
    """One stored mention and its decisions by the running folder (`before`) and the candidate."""

    case_ref: str
    external_id: str
    text: str
    before: Decision
    after: Decision


@dataclass
class Shift:
    """The mentions whose `field` would go from `old` to `new`."""

    field: str
    old: str
    new: str
    mentions: int = 0
    cases: set[str] = dataclasses.field(default_factory=set)
    rules: Counter[str] = dataclasses.field(default_factory=Counter)
    examples: list[dict[str, str]] = dataclasses.field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "old": self.old, "new": self.new, "mentions": self.mentions,
                "cases": len(self.cases),
                "rules": [{"rules": name, "mentions": n} for name, n in self.rules.most_common()],
                "examples": self.examples}


@dataclass
class ReplayReport:
    """The whole comparison; `shifts` in FIELDS order, the largest first within a field."""

    baseline: str
    candidate: str
    since: datetime
    mentions: int = 0
    changed: int = 0
    changed_cases: set[str] = dataclasses.field(default_factory=set)
    shifts: list[Shift] = dataclasses.field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"baseline": self.baseline, "candidate": self.candidate, "since": self.since.isoformat(),
                "mentions": self.mentions, "changed_mentions": self.changed, "changed_cases": len(self.changed_cases),
                "changes": [s.to_json() for s in self.shifts]}


def responsible(before: Decision, after: Decision) -> str:
    """The rules that make the difference, in words: the deciding rule before -> after (`(defaults)`
    when none decided; `(changed)` when the same rule now decides otherwise), then the rules that
    match only after (`+id`) or only before (`-id`)."""
    old, new = before.deciding_rule or "(defaults)", after.deciding_rule or "(defaults)"
    gained = [r for r in after.matched_rules if r not in before.matched_rules and r != after.deciding_rule]
    lost = [r for r in before.matched_rules if r not in after.matched_rules and r != before.deciding_rule]
    parts = [f"{old} -> {new}" if old != new else (f"{old} (changed)" if not (gained or lost) else old)]
    return " ".join([*parts, *(f"+{r}" for r in gained), *(f"-{r}" for r in lost)])


def compare(replayed: Iterable[Replayed], *, baseline: str, candidate: str, since: datetime) -> ReplayReport:
    """Group every difference between the two decisions of each mention."""
    report = ReplayReport(baseline, candidate, since)
    shifts: dict[tuple[str, str, str], Shift] = {}
    for item in replayed:
        report.mentions += 1
        moved = False
        for name in FIELDS:
            old, new = getattr(item.before, name), getattr(item.after, name)
            if old == new:
                continue
            moved = True
            shift = shifts.setdefault((name, old, new), Shift(name, old, new))
            shift.mentions += 1
            shift.cases.add(item.case_ref)
            why = responsible(item.before, item.after)
            shift.rules[why] += 1
            if len(shift.examples) < EXAMPLES_PER_SHIFT:
                shift.examples.append({"case": item.case_ref, "mention": item.external_id,
                                       "text": _snippet(item.text), "rules": why})
        if moved:
            report.changed += 1
            report.changed_cases.add(item.case_ref)
    report.shifts = sorted(shifts.values(), key=lambda s: (FIELDS.index(s.field), -s.mentions, s.old, s.new))
    return report


def render_text(report: ReplayReport) -> str:
    """The report as `webcare rules replay` prints it."""
    lines = [f"{report.mentions} mentions received since {report.since.isoformat(timespec='seconds')} replayed: "
             f"{report.baseline} -> {report.candidate}",
             f"{report.changed} mentions ({len(report.changed_cases)} cases) would be routed differently"]
    for name in FIELDS:
        shifts = [s for s in report.shifts if s.field == name]
        if not shifts:
            lines.append(f"{name}: no change")
            continue
        lines.append(f"{name}: {sum(s.mentions for s in shifts)} mentions "
                     f"({len(set().union(*(s.cases for s in shifts)))} cases)")
        for s in shifts:
            lines.append(f"  {s.old} -> {s.new}: {s.mentions} mentions, {len(s.cases)} cases")
            lines.append("    rules: " + ", ".join(f"{why} ({n})" for why, n in s.rules.most_common()))
            lines += [f"    e.g. {e['case']} {e['mention']}: {e['text']}" for e in s.examples]
    return "\n".join(lines)


def _snippet(text: str, width: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
