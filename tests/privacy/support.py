"""Looking for a person's data in every table: what the privacy tests assert is gone (or kept)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Base


def places_holding(session: Session, needle: str) -> list[str]:
    """`table.column#row` for every stored value (text, JSON, bytes) that contains `needle`,
    case-insensitively, in every table of the schema."""
    folded = needle.casefold()
    found = []
    for table in Base.metadata.sorted_tables:
        key = list(table.primary_key.columns)
        for row in session.execute(select(table)).mappings():
            for column in table.columns:
                if folded in _as_text(row[column.name]).casefold():
                    found.append(f"{table.name}.{column.name}#{'/'.join(str(row[k.name]) for k in key)}")
    return found


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
