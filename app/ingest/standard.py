"""The `standard` connector: our normalised mention JSON, signed the Standard Webhooks way.

Pure: bytes in, mentions (or field errors) out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from app.kernel.errors import InvalidInput, field_errors
from app.kernel.json_input import UnreadableJson, load_json, nul_field
from app.mentions.model import Mention
from app.mentions.schema import MAX_BATCH, MentionBatchIn, MentionIn

MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ParsedItem:
    """One mention and the raw JSON it came from (kept with the stored mention)."""

    mention: Mention
    raw: dict[str, Any]


class FormatError(InvalidInput):
    """The body breaks the format; `errors` are `[{"field", "message"}]`."""

    def __init__(self, errors: list[dict[str, str]]):
        super().__init__(errors, "; ".join(f"{e['field'] or '(body)'}: {e['message']}" for e in errors))


def parse_standard_body(body: bytes) -> list[ParsedItem]:
    """The mentions of a `standard` body: one mention object, or `{"mentions": [...]}` (1–1000).

    Raises FormatError naming every bad field (`mentions[3].author.followers`), a string holding a
    NUL character (which PostgreSQL cannot store) among them, and for a body nested too deep.
    """
    try:
        document = load_json(body)
    except UnreadableJson as exc:
        raise FormatError([{"field": "", "message": str(exc)}]) from exc
    if (where := nul_field(document)) is not None:
        raise FormatError([{"field": where, "message": "must not contain a NUL character"}])
    if not isinstance(document, dict):
        raise FormatError([{"field": "", "message": "expected a mention object or {\"mentions\": [...]}"}])
    try:
        if "mentions" in document:
            raw_items = document["mentions"]
            if isinstance(raw_items, list) and len(raw_items) > MAX_BATCH:
                raise FormatError([{"field": "mentions",
                                    "message": f"at most {MAX_BATCH} mentions per body, got {len(raw_items)}"}])
            batch = MentionBatchIn.model_validate(document)
            return [ParsedItem(m.to_mention(), raw) for m, raw in zip(batch.mentions, raw_items, strict=True)]
        single = MentionIn.model_validate(document)
        return [ParsedItem(single.to_mention(), document)]
    except ValidationError as exc:
        raise FormatError(field_errors(exc.errors())) from exc
