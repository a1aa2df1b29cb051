"""What every platform adapter returns: the events of one authentic body, normalised.

Pure values. An adapter turns the raw bytes of one delivery into a `Parsed` result: new mentions,
edits, removals, ignored events (no customer message) and the parts it could not understand
(`failures`, kept as an inbound dead letter by the caller). Nothing here reads the clock, the
database, settings or the network.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app.ingest.standard import ParsedItem
from app.kernel.json_input import UnreadableJson, nul_field
from app.kernel.json_input import load_json as load_untrusted_json
from app.mentions.model import Mention


class AdapterError(ValueError):
    """A part of an authentic body that the adapter cannot turn into events."""


@dataclass(frozen=True)
class EditedItem:
    """A new version of a message: updates the stored mention with `mention.external_id`, or is
    stored as a new mention when that message was never seen."""

    mention: Mention
    raw: dict[str, Any]
    edited_at: datetime | None = None


@dataclass(frozen=True)
class RemovedItem:
    """The author removed the message with `external_id` (a deleted comment or post)."""

    external_id: str
    raw: dict[str, Any]
    removed_at: datetime | None = None


@dataclass(frozen=True)
class IgnoredItem:
    """An event that carries no customer message (own posts, receipts, bot commands, ...)."""

    reason: str
    raw: Any = None


Item = ParsedItem | EditedItem | RemovedItem | IgnoredItem


@dataclass
class Parsed:
    """The events of one body, in the order the platform sent them, and the failures (each a
    readable reason naming where in the body it happened)."""

    items: list[Item] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def ignore(self, reason: str, raw: Any = None) -> None:
        self.items.append(IgnoredItem(reason, raw))


def load_json(body: bytes) -> Any:
    """The JSON document of `body`; AdapterError when it is not UTF-8 JSON, is nested too deep, or
    holds a NUL character anywhere (PostgreSQL cannot store it: such a body stays a dead letter)."""
    try:
        document = load_untrusted_json(body)
    except UnreadableJson as exc:
        raise AdapterError(str(exc)) from exc
    if (where := nul_field(document)) is not None:
        raise AdapterError(f"{where or 'body'}: holds a NUL character, which cannot be stored")
    return document


def as_dict(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise AdapterError(f"{where}: expected an object")
    return value


def as_list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise AdapterError(f"{where}: expected an array")
    return value


def text_id(value: Any, where: str) -> str:
    """An id as text. Platforms send some ids as numbers; `bool` and empty values are refused."""
    if isinstance(value, bool) or value is None or value == "":
        raise AdapterError(f"{where}: missing id")
    if isinstance(value, int | str):
        return str(value)
    raise AdapterError(f"{where}: an id must be a string or an integer")


def optional_id(value: Any) -> str | None:
    if isinstance(value, bool) or value is None or value == "":
        return None
    return str(value) if isinstance(value, int | str) else None


def optional_str(mapping: Mapping[str, Any], key: str) -> str | None:
    value = mapping.get(key)
    return value if isinstance(value, str) and value else None


def from_unix(value: Any) -> datetime | None:
    """Unix seconds (int, float or numeric string) as aware UTC; milliseconds when the number is
    too large to be seconds (Messenger's and X's `*_timestamp`)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if number > 10**11:
        number /= 1000
    try:
        return datetime.fromtimestamp(number, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def child(mapping: Any, key: str) -> dict[str, Any]:
    """`mapping[key]` when both are objects, else an empty object (absent optional parts)."""
    value = mapping.get(key) if isinstance(mapping, dict) else None
    return value if isinstance(value, dict) else {}


def items(mapping: Any, key: str) -> list[Any]:
    """`mapping[key]` when both are what they should be (an object holding an array), else an
    empty array (absent optional parts, or parts of another type)."""
    value = mapping.get(key) if isinstance(mapping, dict) else None
    return value if isinstance(value, list) else []


def string(mapping: Any, key: str) -> str:
    """`mapping[key]` when it is a string, else the empty string."""
    value = mapping.get(key) if isinstance(mapping, dict) else None
    return value if isinstance(value, str) else ""
