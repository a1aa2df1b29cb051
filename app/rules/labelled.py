"""Labelled mention files for `webcare rules eval`: JSON Lines, one labelled mention a line.

    {"mention": {<normalised mention JSON; id and language optional>}, "now": "<ISO with offset>",
     "department": "<id>", "ambiguous": false, "priority": "P2", "category": "...", "note": "..."}

`now`, `priority`, `category` and `note` may be left out; blank lines are skipped. Reading and
running are pure: text in, labelled mentions or problems out; the rule set, the fallback `now` and
the mention preparation (language detection) are passed in.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from app.kernel.vocabulary import PRIORITIES
from app.mentions.model import Mention
from app.mentions.schema import MentionIn
from app.rules.evaluate import classify
from app.rules.evaluation import Outcome
from app.rules.model import RuleSet
from app.rules.schema_tests import parse_instant

LINE_KEYS = ("mention", "now", "department", "ambiguous", "priority", "category", "note")
REQUIRED_KEYS = ("mention", "department", "ambiguous")
DEFAULT_MENTION_ID = "eval"


@dataclass(frozen=True, slots=True)
class Labelled:
    """One line: a mention and the decision a webcare lead would make for it."""

    line: int
    mention: Mention
    department: str
    ambiguous: bool
    now: datetime | None = None
    priority: str | None = None
    category: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class LineProblem:
    """A bad line: `path:line:col: message` for JSON syntax, `path:line: field: message` otherwise."""

    path: str
    line: int
    message: str
    col: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" + (f":{self.col}" if self.col is not None else "")
        return f"{where}: {self.message}"


def read_labelled(text: str, path: str, departments: Collection[str]) -> tuple[list[Labelled], list[LineProblem]]:
    """Every labelled mention of `text` (the file at `path`) and every problem, naming the field
    (`mention.author.followers`, `department`, `now`). A department not in `departments` is a
    problem, so a typo never counts as a miss."""
    items: list[Labelled] = []
    problems: list[LineProblem] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            problems.append(LineProblem(path, number, f"not JSON: {exc.msg}", col=exc.colno))
            continue
        found: list[str] = []
        item = _labelled(data, number, departments, found)
        problems.extend(LineProblem(path, number, message) for message in found)
        if item is not None:
            items.append(item)
    if not items and not problems:
        problems.append(LineProblem(path, 1, "no labelled mentions in the file"))
    return items, problems


def run_labelled(ruleset: RuleSet, items: Sequence[Labelled], *, now: datetime,
                 prepare: Callable[[Mention], Mention] = lambda m: m) -> list[Outcome]:
    """Classify every labelled mention, received at its own `now` or else `now`, after `prepare`
    (the language detection ingest applies, so eval sees what production sees)."""
    outcomes = []
    for item in items:
        decision = classify(ruleset, prepare(item.mention), item.now or now)
        outcomes.append(Outcome(
            line=item.line, text=item.mention.text, expected=item.department, got=decision.department,
            deciding_rule=decision.deciding_rule, ambiguous=item.ambiguous,
            expected_priority=item.priority, got_priority=decision.priority,
            expected_category=item.category, got_category=decision.category, note=item.note))
    return outcomes


def _labelled(data: Any, number: int, departments: Collection[str], found: list[str]) -> Labelled | None:
    if not isinstance(data, dict):
        found.append("expected a JSON object with " + ", ".join(REQUIRED_KEYS))
        return None
    found.extend(f"{key}: unknown field (allowed: {', '.join(LINE_KEYS)})" for key in data if key not in LINE_KEYS)
    found.extend(f"{key}: required" for key in REQUIRED_KEYS if key not in data)
    department = _text(data, "department", found)
    if department is not None and department not in departments:
        found.append(f"department: unknown department '{department}' (known: {', '.join(departments)})")
    ambiguous = data.get("ambiguous")
    if "ambiguous" in data and not isinstance(ambiguous, bool):
        found.append("ambiguous: expected true or false")
    priority = _text(data, "priority", found)
    if priority is not None and priority not in PRIORITIES:
        found.append(f"priority: '{priority}' is not one of {', '.join(PRIORITIES)}")
    category, note, now = _text(data, "category", found), _text(data, "note", found), _now(data, found)
    mention = _mention(data.get("mention"), number, found) if "mention" in data else None
    if found or mention is None or department is None:
        return None
    return Labelled(line=number, mention=mention, department=department, ambiguous=bool(ambiguous), now=now,
                    priority=priority, category=category, note=note)


def _text(data: dict[str, Any], key: str, found: list[str]) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        found.append(f"{key}: expected a non-empty string")
        return None
    return value


def _now(data: dict[str, Any], found: list[str]) -> datetime | None:
    text = _text(data, "now", found)
    if text is None:
        return None
    try:
        return parse_instant(text)
    except ValueError as exc:
        found.append(f"now: {exc}")
        return None


def _mention(data: Any, number: int, found: list[str]) -> Mention | None:
    if isinstance(data, dict):
        data = {"id": f"{DEFAULT_MENTION_ID}-{number}", **data}
    try:
        return MentionIn.model_validate(data).to_mention()
    except ValidationError as exc:
        for err in exc.errors():
            field = ".".join(["mention", *(str(p) for p in err["loc"])])
            found.append(f"{field}: {err['msg']}")
        return None
