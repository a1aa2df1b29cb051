"""Untrusted JSON and text, checked once at the edge so that whatever is stored fits both databases.

Pure. PostgreSQL refuses the NUL character in text and JSONB (SQLite stores it), so the service
refuses it everywhere, on both databases alike: in query parameters, request bodies, form fields
and mentions. Documents nested deeper than `MAX_JSON_DEPTH` are refused too: Python's JSON parser
and encoder recurse, so a body nested 10,000 deep raised RecursionError, and no platform or
department system nests anywhere near this deep.
"""

from __future__ import annotations

import json
from typing import Any

MAX_JSON_DEPTH = 64
# Ids are 64-bit signed integers on both databases.
MAX_ID = 2**63 - 1
NUL = "\x00"


class UnreadableJson(ValueError):
    """Not UTF-8 JSON, or nested deeper than MAX_JSON_DEPTH."""


def load_json(body: bytes | str) -> Any:
    """The JSON document of `body`; UnreadableJson (with the reason) when it is not UTF-8 JSON or is
    nested deeper than MAX_JSON_DEPTH."""
    try:
        document = json.loads(body)
    except RecursionError as exc:
        raise UnreadableJson(f"nested deeper than {MAX_JSON_DEPTH} levels") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnreadableJson(f"not JSON: {exc}") from exc
    if too_deep(document):
        raise UnreadableJson(f"nested deeper than {MAX_JSON_DEPTH} levels")
    return document


def too_deep(document: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether `document` nests objects and arrays more than `limit` levels (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in (value.values() if isinstance(value, dict) else value))
    return False


def nul_field(document: Any, prefix: str = "") -> str | None:
    """The path (`mentions[1].author.handle`, `extra.k`) of the first string, or object key, in
    `document` holding a NUL character; None when there is none. `prefix` is prepended."""
    stack: list[tuple[Any, str]] = [(document, prefix)]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if NUL in value:
                return path
        elif isinstance(value, dict):
            for key, child in value.items():
                key_path = f"{path}.{key}" if path else str(key)
                if isinstance(key, str) and NUL in key:
                    return path or "(body)"
                stack.append((child, key_path))
        elif isinstance(value, list):
            stack.extend((child, f"{path}[{i}]") for i, child in enumerate(value))
    return None
