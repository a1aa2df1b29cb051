"""JSON Schemas of the rule-folder files, built from `app.rules.shapes` (the definitions the
loader checks against) and, for test mentions, from the pydantic model the loader validates them
with. Shipped in `routing_rules/schema/` and printed by `webcare rules schema KIND`.

A schema checks shapes and value types, which is what an editor needs to complete and flag a file
as it is typed; references between files (an unknown list or department), regexes and calendars
are checked by `webcare rules check` only.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from app.mentions.schema import MentionIn
from app.rules import shapes
from app.rules.shapes import Json, Shape

DRAFT = "http://json-schema.org/draft-07/schema#"
KINDS: dict[str, tuple[Shape, str]] = {
    "departments": (shapes.DEPARTMENTS_FILE, "departments.yaml"),
    "sla": (shapes.SLA_FILE, "sla.yaml"),
    "connectors": (shapes.CONNECTORS_FILE, "connectors.yaml"),
    "lists": (shapes.LIST_FILE, "lists/*.yaml"),
    "rules": (shapes.RULES_FILE, "rules/*.yaml"),
    "tests": (shapes.TESTS_FILE, "tests/*.yaml"),
    "incidents": (shapes.INCIDENTS_FILE, "incidents.yaml"),
}


def schema(kind: str) -> Json:
    """The JSON Schema of one file kind (a key of `KINDS`)."""
    shape, files = KINDS[kind]
    body = shape.schema()
    defs: dict[str, Any] = {}
    if kind == "rules":
        defs["condition"] = shapes.CONDITION
    if kind == "tests":
        defs |= _mention_defs()
        body["anyOf"] = [{"required": ["tests"]}, {"required": ["series"]}]
    return {"$schema": DRAFT, "title": f"routing_rules/{files}",
            **body, **({"$defs": defs} if defs else {})}


def _mention_defs() -> dict[str, Any]:
    # The loader fills in a missing id, so a test's mention may leave it out.
    mention = copy.deepcopy(MentionIn.model_json_schema())
    defs: dict[str, Any] = mention.pop("$defs", {})
    mention["required"] = [k for k in mention.get("required", []) if k != "id"]
    mention.pop("title", None)
    defs["mention"] = mention
    return defs


def render(kind: str) -> str:
    """The schema as the shipped file holds it (two-space indent, final newline)."""
    return json.dumps(schema(kind), indent=2, ensure_ascii=False) + "\n"
