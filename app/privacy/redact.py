"""What blanking does to a stored value. Pure: no database, no clock.

Blanking keeps the shape and the facts reports count (ids, departments, channels, statuses,
timestamps, routing decisions) and takes out what a person wrote or who they are: free text
becomes "", author fields become null, raw platform payloads become `{}`.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from typing import Any

BLANK = ""
"""What blanked text reads as everywhere (the API, the UI, event bodies)."""

NO_AUTHOR: dict[str, Any] = {"id": None, "handle": None, "name": None, "followers": None, "verified": None}
"""A case's or event body's `author` once anonymised."""

FREE_TEXT_KEYS = frozenset({"text", "previous_text", "question", "resolution", "reason", "comment"})
"""Timeline data and event-body keys that hold what a person wrote: mention text (and the text an
edit replaced), agent replies and notes, questions to the customer, resolutions, reasons of a handoff
or reroute, the customer's survey comment. Everything else in timeline data (departments, rule ids,
decisions, external ids, scores, counts) is routing fact the reports read and stays."""


def blank_free_text(data: Any) -> tuple[Any, int]:
    """`data` with the string value of every `FREE_TEXT_KEYS` key, at any depth, made `BLANK`, and
    every `author` object made `NO_AUTHOR`; returns it with how many values changed (0: `data` is
    returned unchanged)."""
    if isinstance(data, dict):
        changed = 0
        out: dict[str, Any] = {}
        for key, value in data.items():
            if key in FREE_TEXT_KEYS and isinstance(value, str):
                out[key] = BLANK
                changed += value != BLANK
            elif key == "author" and isinstance(value, dict):
                out[key] = {**NO_AUTHOR} if value != NO_AUTHOR else value
                changed += value != NO_AUTHOR
            else:
                out[key], inner = blank_free_text(value)
                changed += inner
        return (out, changed) if changed else (data, 0)
    if isinstance(data, list):
        pairs = [blank_free_text(item) for item in data]
        changed = sum(n for _, n in pairs)
        return ([item for item, _ in pairs], changed) if changed else (data, 0)
    return data, 0


def scrub_strings(data: Any, needles: Collection[str]) -> tuple[Any, int]:
    """`data` with every string equal to one of `needles` (compared case-insensitively, spaces at
    either end ignored) made `BLANK`, at any depth, keys kept; returns it with how many changed."""
    folded = {n.strip().casefold() for n in needles if n and n.strip()}
    return _scrub(data, folded) if folded else (data, 0)


def _scrub(data: Any, folded: set[str]) -> tuple[Any, int]:
    if isinstance(data, str):
        return (BLANK, 1) if data.strip().casefold() in folded else (data, 0)
    if isinstance(data, dict):
        pairs = {key: _scrub(value, folded) for key, value in data.items()}
        changed = sum(n for _, n in pairs.values())
        return ({key: value for key, (value, _) in pairs.items()}, changed) if changed else (data, 0)
    if isinstance(data, list):
        items = [_scrub(item, folded) for item in data]
        changed = sum(n for _, n in items)
        return ([item for item, _ in items], changed) if changed else (data, 0)
    return data, 0


def scrub_body(body: bytes, needles: Collection[str]) -> tuple[bytes, int]:
    """A raw body (bytes as a platform sent them) with `scrub_strings` applied when it is JSON: the
    result is the scrubbed document, re-serialised (so a replay still parses what is left); a body
    that is not JSON has each needle's UTF-8 bytes replaced. Returns it with how many changed."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        count = 0
        for needle in {n for n in needles if n and n.strip()}:
            raw = needle.encode()
            count += body.count(raw)
            body = body.replace(raw, b"")
        return body, count
    scrubbed, count = scrub_strings(document, needles)
    return (json.dumps(scrubbed, ensure_ascii=False).encode(), count) if count else (body, 0)


def mentions_any(data: Any, needles: Collection[str]) -> bool:
    """Whether some string in `data` (a JSON value, at any depth) equals one of `needles` as
    `scrub_strings` compares them."""
    return scrub_strings(data, needles)[1] > 0


def body_mentions_any(body: bytes, needles: Collection[str]) -> bool:
    """`mentions_any` for a raw body (JSON, else a byte search for each needle)."""
    return scrub_body(body, needles)[1] > 0


def handle_forms(handle: str) -> list[str]:
    """The ways a handle is written: as given, and with and without a leading `@` (X, Instagram,
    Telegram) — stored handles carry the `@`, people asking often leave it out."""
    bare = handle.strip().lstrip("@")
    return list(dict.fromkeys(form for form in (handle.strip(), bare, f"@{bare}") if form and form != "@"))


def non_empty(values: Iterable[str | None]) -> list[str]:
    """The values that hold something, each once, in order."""
    return list(dict.fromkeys(v for v in values if v and v.strip()))
