"""The clock. Only imperative-shell code (requests, CLI commands, worker steps) reads it; pure code
takes `now` as an argument."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """The current instant, aware UTC."""
    return datetime.now(UTC)
