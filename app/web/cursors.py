"""Opaque keyset cursors for the newest-first lists: the id to continue below, base64-encoded with
a letter naming the list, so a cursor of one list is refused by another."""

from __future__ import annotations

import base64
import binascii

from app.kernel.errors import InvalidInput
from app.kernel.json_input import MAX_ID


def encode_cursor(kind: str, row_id: int) -> str:
    """The cursor that continues list `kind` below `row_id`."""
    return base64.urlsafe_b64encode(f"{kind}{row_id}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str) -> int:
    """The id a cursor of list `kind` continues below; InvalidInput (422 naming `cursor`) for
    anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        number = raw[len(kind):]
        if not raw.startswith(kind) or not number.isdigit() or int(number) > MAX_ID:
            raise ValueError
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput([{"field": "cursor", "message": "not a cursor of this list"}]) from exc
