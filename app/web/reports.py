"""What every report endpoint shares: the time window and its parameters, JSON or CSV."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import Query, Request
from pydantic import AwareDatetime

from app.kernel.errors import InvalidInput

DEFAULT_WINDOW = timedelta(days=30)
MAX_WINDOW = timedelta(days=366)

From = Annotated[AwareDatetime | None, Query(alias="from", description="default: 30 days before `to`")]
To = Annotated[AwareDatetime | None, Query(description="default: now")]
Format = Annotated[Literal["json", "csv"] | None, Query(description="default: by the Accept header")]
CSV_RESPONSE = {"content": {"text/csv": {"schema": {"type": "string"}}},
                "description": "The report (JSON), or one CSV table with `format=csv` or `Accept: text/csv`"}


def report_window(from_: datetime | None, to: datetime | None, *, now: datetime) -> tuple[datetime, datetime]:
    """[start, end) in UTC: `to` defaults to `now`, `from` to 30 days before it. Raises
    InvalidInput (naming `from`) when `from` is not before `to` or the window spans over 366 days."""
    end = (to or now).astimezone(UTC)
    start = (from_ or end - DEFAULT_WINDOW).astimezone(UTC)
    if start >= end:
        raise InvalidInput([{"field": "from", "message": "must be before `to`"}])
    if end - start > MAX_WINDOW:
        raise InvalidInput([{"field": "from", "message": "the window may span at most 366 days"}])
    return start, end


def wants_csv(request: Request, format: str | None) -> bool:
    """CSV when asked by `format=csv`, or by `Accept: text/csv` when `format` is left out."""
    return format == "csv" or (format is None and "text/csv" in request.headers.get("accept", ""))
