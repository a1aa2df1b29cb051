"""What happened to a case, as domain events: the one currency of every case change.

The life cycle (`app.cases.lifecycle`) and the services that change a case describe each change as
a list of `DomainEvent`s; `app.cases.changes.apply_changes` applies them: the timeline here, the
SLA timers, the department events and the platform replies through the handlers those packages
register. Pure: no database, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Actor:
    """Who caused an event: `type` is `agent`, `lead`, `ops`, `department`, `rule`, `customer`,
    `escalation` or `system`; `name` the user, department, rule or subsystem (None for a customer)."""

    type: str
    name: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name}


RULE_NOTICES = ("case.mention_added", "case.notified")
"""Notices about what arrived or who is told; sent after the notices of what happened to the case
in the same change (a reopened case's owner hears `case.reopened`, then `case.mention_added`)."""


@dataclass(frozen=True)
class DomainEvent:
    """One thing that happened to a case.

    - `type`: what happened, the timeline entry's type (`created`, `handed_off`, `reopened`,
      `priority_changed`, `resolved`, `closed`, `merged`, `mention_added`, ...); the SLA handler
      decides the timers from it.
    - `data`: the timeline entry's data.
    - `recorded`: False for an event that departments hear of but the timeline does not show.
    - `notice`: the department event it sends (`app.kernel.vocabulary.CASE_EVENT_TYPES`), or None.
    - `notice_data`: the notice body's extra fields; None means `{"action"?, "actor", **data}`.
    - `only`: the departments that receive the notice instead of the owner (`case.notified`).
    - `also`: departments that receive it besides the owner (the owner that lost the case).
    - `action`: the case action that caused it, if one did.
    - `mention_id`: the stored mention it is about, for handlers (`mention_removed`: blanked by
      `app.privacy`); not recorded.
    """

    type: str
    actor: Actor
    data: Mapping[str, Any] = field(default_factory=dict)
    recorded: bool = True
    notice: str | None = None
    notice_data: Mapping[str, Any] | None = None
    only: tuple[str, ...] | None = None
    also: tuple[str, ...] = ()
    action: str | None = None
    mention_id: int | None = None

    def notice_body(self) -> dict[str, Any]:
        """The extra fields of the notice's body (beside the case)."""
        if self.notice_data is not None:
            return dict(self.notice_data)
        return {**({"action": self.action} if self.action else {}), "actor": self.actor.to_json(), **self.data}


def handed_off(source: str, target: str, *, by: Actor, action: str | None = None,
               details: Mapping[str, Any] | None = None, losing_owner: bool = True) -> DomainEvent:
    """The one description of a handoff (by an agent, a rule at opening or reclassification, or an
    SLA escalation): timeline `handed_off` with `from`/`to`, `case.handed_off` to the new owner and,
    when `losing_owner`, to the owner that lost the case (so its own system can close its ticket)."""
    return DomainEvent("handed_off", by, {**(details or {}), "from": source, "to": target},
                       notice="case.handed_off", also=(source,) if losing_owner else (), action=action)


def notified(departments: tuple[str, ...], *, by: Actor, recorded: bool) -> DomainEvent:
    """Departments the rules notify receive `case.notified` (only they)."""
    return DomainEvent("notified", by, {"departments": list(departments)}, recorded=recorded,
                       notice="case.notified", notice_data={"actor": by.to_json()}, only=departments)
