"""The words of the domain that more than one part uses: priorities, case statuses and the
department event types. Pure values."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, get_args

Priority = Literal["P1", "P2", "P3", "P4"]
PRIORITIES: tuple[str, ...] = get_args(Priority)
"""Most urgent first."""


def higher_priority(a: str, b: str) -> str:
    """The more urgent of two priorities (P1 is the most urgent)."""
    return min(a, b, key=PRIORITIES.index)


def raised_priority(priority: str, steps: int) -> str:
    """`priority` made `steps` levels more urgent, never beyond P1."""
    return PRIORITIES[max(0, PRIORITIES.index(priority) - steps)]


StatusName = Literal["open", "pending_department", "pending_customer", "resolved", "closed"]
STATUSES: tuple[str, ...] = get_args(StatusName)


class Status(StrEnum):
    """A case's status (whose turn it is); the values are `STATUSES`."""

    OPEN = "open"
    PENDING_DEPARTMENT = "pending_department"
    PENDING_CUSTOMER = "pending_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"


if tuple(Status) != STATUSES:  # pragma: no cover - a typo here would split the vocabulary
    raise AssertionError("Status and StatusName must list the same statuses in the same order")

ACTIVE_STATUSES: tuple[str, ...] = ("open", "pending_department", "pending_customer")
"""Somebody's turn: the default queue."""
NOT_CLOSED: tuple[str, ...] = (*ACTIVE_STATUSES, "resolved")

CASE_EVENT_TYPES: tuple[str, ...] = (
    "case.handed_off", "case.updated", "case.mention_added", "case.rerouted", "case.resolved", "case.closed",
    "case.reopened", "case.notified", "sla.warning", "sla.breached", "sla.escalated", "feedback.received")
"""The events about a case: written to the outbox by `app.delivery.outbox.emit`, delivered by
webhook and in the event feed."""

INCIDENT_EVENTS: tuple[str, ...] = ("incident.opened", "incident.updated", "incident.closed")
"""The event types about an incident rather than a case."""

EVENT_TYPES: tuple[str, ...] = (*CASE_EVENT_TYPES, *INCIDENT_EVENTS, "ping")
"""Every event type a department's webhook may receive: the case events; `incident.*`, whose
bodies carry an incident, not a case, and go only to departments whose webhook `events` name them;
and `ping`, which ops send on demand to test an endpoint (`app.delivery.ping`; never stored, never
in the feed)."""
