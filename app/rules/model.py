"""The loaded rule set: immutable values built by the loader and read by the evaluator."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from app.mentions.model import Mention
from app.rules.compiled import CompiledRules
from app.rules.conditions import Cond
from app.rules.matching import ItemMatcher, Mode
from app.storms.config import IncidentWatch, SeriesTest
from app.timekeeping.calendar import Calendar
from app.timekeeping.policy import SlaPolicy

CONNECTOR_KINDS = ("meta", "whatsapp", "x", "telegram", "standard")


@dataclass(frozen=True, slots=True)
class Defaults:
    """The decision fields a deciding rule leaves out, and the whole decision when none decides."""

    department: str
    category: str
    priority: str
    sla_policy: str


@dataclass(frozen=True, slots=True)
class Webhook:
    """A department's subscription. `events` None means every event type."""

    url: str
    secret_env: str
    previous_secret_env: str | None = None
    events: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Department:
    id: str
    name: str
    calendar: str
    webhook: Webhook | None = None


@dataclass(frozen=True, slots=True)
class Connector:
    """An inbound connector; the `*_env` fields name environment variables (unused ones None).

    `accounts` gives our own accounts' display names by account id; `account` is the account a
    mention reached when its payload does not say (Telegram updates never name the bot)."""

    name: str
    kind: str
    secret_env: str | None = None
    app_secret_env: str | None = None
    verify_token_env: str | None = None
    access_token_env: str | None = None
    consumer_secret_env: str | None = None
    secret_token_env: str | None = None
    include_retweets: bool = False
    max_body_bytes: int | None = None  # platform kinds only; None: the kind's default
    account: str | None = None
    accounts: Mapping[str, str] = field(default_factory=dict)

    def account_name(self, account: str | None) -> str | None:
        """The display name connectors.yaml gives `account`, or None."""
        return self.accounts.get(account) if account is not None else None


@dataclass(frozen=True, slots=True)
class KeywordList:
    """A list as written (items unfolded) plus its compiled matchers: `own` (its items only, for
    sentiment) and `closure` (its items and those of included lists, each with its own mode)."""

    name: str
    mode: Mode
    weight: int | None
    items: tuple[str, ...]
    include: tuple[str, ...]
    file: str
    own: ItemMatcher = field(repr=False, compare=False)
    closure: ItemMatcher = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Actions:
    """A rule's `then`. `priority` is a plain priority; `raise_to` is `priority: {raise_to: Pn}`."""

    department: str | None = None
    category: str | None = None
    priority: str | None = None
    raise_to: str | None = None
    sla_policy: str | None = None
    tags: tuple[str, ...] = ()
    notify: tuple[str, ...] = ()

    def describe(self) -> str:
        parts = [f"{k}={v}" for k, v in (("department", self.department), ("category", self.category),
                                          ("priority", self.priority), ("raise_to", self.raise_to),
                                          ("sla_policy", self.sla_policy)) if v]
        parts += [f"tags=[{', '.join(self.tags)}]"] if self.tags else []
        parts += [f"notify=[{', '.join(self.notify)}]"] if self.notify else []
        return " ".join(parts) or "(defaults)"


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    order: int
    when: Cond
    then: Actions
    continue_: bool = False
    description: str = ""
    file: str = ""
    line: int = 0


@dataclass(frozen=True, slots=True)
class Expect:
    """A test's expectations; None means not checked. Tags and notify compare as sets."""

    department: str | None = None
    category: str | None = None
    priority: str | None = None
    sla_policy: str | None = None
    tags: frozenset[str] | None = None
    notify: frozenset[str] | None = None
    matched_rules: tuple[str, ...] | None = None
    not_matched_rules: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class RuleTest:
    name: str
    file: str
    line: int
    mention: Mention
    expect: Expect
    now: datetime | None = None
    connector: str | None = None


@dataclass(frozen=True, slots=True)
class RuleSet:
    """A folder that loaded without errors. `rules` are in evaluation order."""

    version: str
    path: Path
    files: tuple[str, ...]
    defaults: Defaults
    departments: Mapping[str, Department]
    connectors: Mapping[str, Connector]
    calendars: Mapping[str, Calendar]
    policies: Mapping[str, SlaPolicy]
    lists: Mapping[str, KeywordList]
    rules: tuple[Rule, ...]
    tests: tuple[RuleTest, ...]
    incidents: tuple[IncidentWatch, ...] = ()
    """The storms `incidents.yaml` watches for (`app.incidents`)."""
    series: tuple[SeriesTest, ...] = ()
    """The series tests of `tests/*.yaml`."""
    lexicon: ItemMatcher = field(default_factory=lambda: ItemMatcher(()), repr=False, compare=False)
    weights: Mapping[str, int] = field(default_factory=dict, repr=False, compare=False)
    compiled: CompiledRules = field(default_factory=lambda: CompiledRules(ItemMatcher(()), {}, ()), repr=False,
                                    compare=False)
    """The lexicon's hits mapped to the rules they can make hold (`app.rules.compiled`)."""

    def watch(self, watch_id: str) -> IncidentWatch | None:
        """The incident watch with this id, or None."""
        return next((w for w in self.incidents if w.id == watch_id), None)

    @property
    def triage_department(self) -> str:
        """The `defaults` department: cases routed elsewhere are handed off at once."""
        return self.defaults.department

    def summary(self) -> dict[str, Any]:
        """Version, files and counts, as `GET /api/v1/rules` shows them."""
        return {
            "version": self.version,
            "files": list(self.files),
            "counts": {
                "rules": len(self.rules), "lists": len(self.lists), "departments": len(self.departments),
                "connectors": len(self.connectors), "calendars": len(self.calendars),
                "policies": len(self.policies), "tests": len(self.tests),
                "incidents": len(self.incidents), "series": len(self.series),
            },
        }
