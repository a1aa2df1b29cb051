"""Case refs (`WC-000123`): the id of a case as people and department systems write it."""

from __future__ import annotations

from app.kernel.json_input import MAX_ID

REF_PREFIX = "WC-"


def format_ref(case_id: int) -> str:
    """`WC-` and the id, at least six digits."""
    return f"{REF_PREFIX}{case_id:06d}"


def parse_ref(ref: str) -> int | None:
    """The case id in a ref, or None when `ref` is not of the form `WC-` + six or more digits."""
    digits = ref[len(REF_PREFIX):] if ref.upper().startswith(REF_PREFIX) else ""
    if len(digits) < 6 or not digits.isdigit() or int(digits) > MAX_ID:
        return None  # past the id column's range: no such case, rather than a database error
    return int(digits)
