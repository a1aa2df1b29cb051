"""The shape of every rule-folder file: which keys each mapping requires and allows, and what their
values look like. The readers (`schema_*.py`) take their key lists from here, and
`app.rules.jsonschema` turns the same definitions into the JSON Schemas shipped in
`routing_rules/schema/`, so the two cannot drift apart.

Where the loader reads a string it accepts any scalar as its source text (`no`, `12`, `2026-03-02`
need no quotes), so such values are `TEXT` here, not only JSON strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.kernel.vocabulary import EVENT_TYPES, PRIORITIES
from app.rules.context import FIELDS, FieldType
from app.rules.matching import MODES
from app.rules.model import CONNECTOR_KINDS
from app.rules.refs import ENV_NAME, IDENT
from app.timekeeping.policy import TIMERS

Json = dict[str, Any]

TEXT: Json = {"type": ["string", "number", "boolean"]}
NAME: Json = {**TEXT, "pattern": IDENT.pattern}
ENV: Json = {"type": "string", "pattern": ENV_NAME.pattern, "description": "an environment variable name"}
PRIORITY: Json = {"enum": list(PRIORITIES)}
TIMESTAMP: Json = {"type": "string", "description": "ISO 8601 with an offset, e.g. 2026-03-02T10:15:00+01:00"}
SPAN: Json = {"type": "string", "pattern": r"^\d+\s*(s|m|h|d)$", "description": "90s, 10m, 2h, 1d"}
FRACTION: Json = {"anyOf": [{"type": "number", "exclusiveMinimum": 0}, {"type": "string", "pattern": "%$"}]}


def array(items: Json, *, min_items: int = 0) -> Json:
    out: Json = {"type": "array", "items": items}
    return out | {"minItems": min_items} if min_items else out


def one_or_many(items: Json) -> Json:
    """A scalar or a non-empty list of them (`contains_any: storing` or `[storing, storingen]`)."""
    return {"anyOf": [items, array(items, min_items=1)]}


@dataclass(frozen=True)
class Shape:
    """A mapping with fixed keys; unknown keys are errors."""

    description: str
    required: dict[str, Json]
    optional: dict[str, Json] = field(default_factory=dict)

    @property
    def required_keys(self) -> tuple[str, ...]:
        return tuple(self.required)

    @property
    def optional_keys(self) -> tuple[str, ...]:
        return tuple(self.optional)

    def schema(self) -> Json:
        return {"type": "object", "description": self.description,
                "properties": {**self.required, **self.optional},
                **({"required": list(self.required)} if self.required else {}),
                "additionalProperties": False}


# departments.yaml
DEFAULTS = Shape("What a deciding rule leaves out, and the whole decision when no rule decides",
                 {"department": NAME, "category": TEXT, "priority": PRIORITY, "sla_policy": NAME})
WEBHOOK = Shape("Where the department's own system receives case events",
                {"url": {"type": "string", "pattern": "^https?://"}, "secret_env": ENV},
                {"previous_secret_env": ENV, "events": array({"enum": list(EVENT_TYPES)})})
DEPARTMENT = Shape("A department that owns cases", {"id": NAME, "calendar": NAME},
                   {"name": TEXT, "webhook": WEBHOOK.schema()})
DEPARTMENTS_FILE = Shape("departments.yaml", {"defaults": DEFAULTS.schema(),
                                              "departments": array(DEPARTMENT.schema())})

# connectors.yaml: each kind needs some keys and allows some more
CONNECTOR_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "meta": (("app_secret_env", "verify_token_env"), ("access_token_env", "max_body_bytes")),
    "whatsapp": (("app_secret_env", "verify_token_env"), ("access_token_env", "max_body_bytes")),
    "x": (("consumer_secret_env",), ("access_token_env", "include_retweets", "max_body_bytes")),
    "telegram": (("secret_token_env",), ("access_token_env", "max_body_bytes")),
    "standard": (("secret_env",), ()),
}
# A platform body limit below a few KiB would refuse ordinary deliveries; above 64 MiB it no longer
# protects the process.
MAX_BODY_BYTES_RANGE = (4 * 1024, 64 * 1024 * 1024)
CONNECTOR_ENV_KEYS = ("secret_env", "app_secret_env", "verify_token_env", "access_token_env",
                      "consumer_secret_env", "secret_token_env")
CONNECTOR_ACCOUNT_KEYS = ("account", "accounts")  # every kind may name its accounts
_ACCOUNTS: dict[str, Json] = {
    "account": {**TEXT, "description": "the account this connector receives for"},
    "accounts": {"type": "object", "description": "account id to display name", "additionalProperties": TEXT},
}
CONNECTOR = Shape("An inbound connector", {"name": NAME, "kind": {"enum": list(CONNECTOR_KINDS)}},
                  {**{k: ENV for k in CONNECTOR_ENV_KEYS}, "include_retweets": {"type": "boolean"},
                   "max_body_bytes": {"type": "integer", "minimum": MAX_BODY_BYTES_RANGE[0],
                                      "maximum": MAX_BODY_BYTES_RANGE[1],
                                      "description": "largest body accepted (bytes); 2 MiB when left out"},
                   **_ACCOUNTS})


def connector_kind(kind: str) -> Shape:
    """The keys a connector of one kind needs and allows."""
    required, optional = CONNECTOR_KEYS[kind]
    value = {**CONNECTOR.required, **CONNECTOR.optional}
    return Shape(f"A `{kind}` connector", {"name": NAME, "kind": {"const": kind}, **{k: value[k] for k in required}},
                 {**{k: value[k] for k in optional}, **_ACCOUNTS})


CONNECTORS_FILE = Shape("connectors.yaml", {"connectors": array(
    {"oneOf": [connector_kind(k).schema() for k in CONNECTOR_KINDS]})})

# sla.yaml
HOLIDAYS = Shape("Public holidays the calendar is closed on (the holidays package)", {"country": TEXT},
                 {"subdiv": TEXT})
CALENDAR = Shape("Opening hours", {
    "timezone": {"type": "string", "description": "an IANA time zone, e.g. Europe/Amsterdam"},
    "hours": {"anyOf": [{"const": "24/7"}, {"type": "object", "description": "days (mon-fri, sat, ...) to "
                                            "intervals like 08:30-17:30", "additionalProperties": array(TEXT)}]},
}, {"holidays": HOLIDAYS.schema(), "closed": array(TEXT)})
DURATIONS = Shape("A duration per priority: 30m, 4h, 2d (open days)", {p: TEXT for p in PRIORITIES})
STEP = Shape("An escalation step", {"timer": {"enum": list(TIMERS)}, "after": FRACTION},
             {"raise_priority": {"type": "integer", "minimum": 1, "maximum": 3}, "handoff_to": NAME,
              "tag": TEXT, "notify": {"type": "boolean"}})
POLICY = Shape("An SLA policy", {t: DURATIONS.schema() for t in TIMERS},
               {"calendar": NAME, "warn_at": FRACTION, "escalation": array(STEP.schema())})
SLA_FILE = Shape("sla.yaml", {"calendars": {"type": "object", "additionalProperties": CALENDAR.schema()},
                              "policies": {"type": "object", "additionalProperties": POLICY.schema()}})

# lists/*.yaml
LIST_FILE = Shape("A keyword list (one per file)", {"list": NAME, "items": array(TEXT)},
                  {"match": {"enum": list(MODES)}, "weight": {"type": "integer"}, "include": array(NAME)})

# rules/*.yaml
_STRING_OPS = ("eq", "ne", "in", "not_in", "exists", "contains_any", "contains_all", "not_contains_any",
               "starts_with", "matches")
OPS: dict[FieldType, tuple[str, ...]] = {
    "str": _STRING_OPS,
    "number": ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "exists"),
    "bool": ("eq", "ne", "in", "not_in", "exists"),
    "time": ("in_calendar", "not_in_calendar", "exists"),
}
_SCALAR: dict[FieldType, Json] = {"str": TEXT, "number": {"type": "number"}, "bool": {"type": "boolean"},
                                  "time": TEXT}


def operand(kind: FieldType, op: str) -> Json:
    """What an operator takes on a field of `kind`."""
    if op == "exists":
        return {"type": "boolean"}
    if op in ("in", "not_in"):
        return array(_SCALAR[kind])
    if op in ("gt", "gte", "lt", "lte"):
        return {"type": "number"}
    if op in ("contains_any", "contains_all", "not_contains_any", "starts_with"):
        return one_or_many(TEXT)
    if op in ("in_calendar", "not_in_calendar"):
        return NAME
    return _SCALAR[kind]  # eq, ne, matches


def field_shape(kind: FieldType) -> Shape:
    """The operator mapping of a field; strings also take `cased`."""
    cased = {"cased": {"type": "boolean"}} if kind == "str" else {}
    ops = {op: operand(kind, op) for op in OPS[kind]}
    return Shape(f"operators on a {kind} field (all must hold)", {}, ops | cased)


CONDITION_REF: Json = {"$ref": "#/$defs/condition"}
CONDITION: Json = {
    "type": "object", "description": "every key must hold",
    "properties": {
        "any": array(CONDITION_REF, min_items=1), "all": array(CONDITION_REF, min_items=1), "not": CONDITION_REF,
        **{name: {"anyOf": [_SCALAR[kind], field_shape(kind).schema()]} for name, kind in FIELDS.items()},
    },
    "additionalProperties": False,
}
CONTINUE_ACTIONS = ("tags", "notify", "priority")
RAISE = Shape("raise the priority to at least this level, never lower it", {"raise_to": PRIORITY})
THEN = Shape("What a matching rule decides (a continue rule: only tags, notify and priority: {raise_to})", {}, {
    "department": NAME, "category": TEXT, "priority": {"anyOf": [PRIORITY, RAISE.schema()]},
    "sla_policy": NAME, "tags": array(TEXT), "notify": array(NAME)})
RULE = Shape("A rule", {"id": NAME, "order": {"type": "integer"}},
             {"description": TEXT, "when": CONDITION_REF, "then": THEN.schema(), "continue": {"type": "boolean"}})
RULES_FILE = Shape("rules/*.yaml", {"rules": array(RULE.schema())})

# tests/*.yaml
MENTION_REF: Json = {"$ref": "#/$defs/mention"}
EXPECT = Shape("The expected decision; leave out what is not checked", {}, {
    "department": NAME, "category": TEXT, "priority": PRIORITY, "sla_policy": NAME, "tags": array(TEXT),
    "notify": array(NAME), "matched_rules": array(NAME), "not_matched_rules": array(NAME)})
TEST = Shape("A routing test: a mention in, the expected decision out",
             {"name": TEXT, "mention": MENTION_REF, "expect": {**EXPECT.schema(), "minProperties": 1}},
             {"now": TIMESTAMP, "connector": NAME})
SERIES_MENTION = Shape("Mentions at a time: `repeat` of them, `every` apart", {"at": TIMESTAMP, "text": TEXT},
                       {"repeat": {"type": "integer", "minimum": 1}, "every": SPAN})
SERIES_BACKGROUND = Shape("The usual level: `per_hour` mentions with `text` in every hour of the history",
                          {"text": TEXT, "per_hour": {"type": "integer", "minimum": 0}})
SERIES_EXPECT = Shape("An incident the series opens (in order of opening); leave out what is not checked",
                      {"watch": NAME}, {"opened_by": TIMESTAMP, "opened_after": TIMESTAMP, "closed_by": TIMESTAMP,
                                        "mentions": {"type": "integer", "minimum": 0}})
SERIES = Shape("A series test: timestamps and texts in, the incidents they open out",
               {"name": TEXT, "mentions": array(SERIES_MENTION.schema(), min_items=1),
                "expect": array(SERIES_EXPECT.schema())},
               {"history": array(SERIES_BACKGROUND.schema()), "until": TIMESTAMP})
TESTS_FILE = Shape("tests/*.yaml (routing tests, series tests or both)", {},
                   {"tests": array(TEST.schema()), "series": array(SERIES.schema()), "now": TIMESTAMP})

# incidents.yaml
INCIDENT_WATCH = Shape("A storm to watch for", {
    "id": NAME, "window": SPAN,
    "factor": {"type": "number", "exclusiveMinimum": 0,
               "description": "times the usual level for the hour of the week"},
    "min_count": {"type": "integer", "minimum": 1, "description": "never hot below this many mentions in the window"},
    "calm": SPAN}, {
    "title": TEXT, "lists": array(NAME), "categories": array(TEXT),
    "history_weeks": {"type": "integer", "minimum": 1, "maximum": 52}})
INCIDENTS_FILE = Shape("incidents.yaml", {"incidents": array(INCIDENT_WATCH.schema())},
                       {"timezone": {"type": "string", "description": "an IANA time zone for the hour of the week"}})
