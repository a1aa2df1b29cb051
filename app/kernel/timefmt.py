"""Instants as the API, the webhooks and the logs write them: ISO 8601 in UTC with a `Z`."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_z(moment: datetime) -> str:
    """`moment` (aware) as `2026-03-02T09:15:00Z` (microseconds kept when it has them), in UTC."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def iso_z_or_none(moment: datetime | None) -> str | None:
    """`iso_z(moment)`, or None for no instant."""
    return iso_z(moment) if moment is not None else None
