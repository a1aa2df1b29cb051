"""What the KPI reports are computed from: plain rows read from the case data (pure values)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class CaseFact:
    """A case. `last_responder`: the user who sent its last response (None: no user responded);
    `assignee`: its assigned user now; `resolved`/`reopened`: how often it was resolved and reopened;
    `rerouted_from`: the departments that rerouted it, once per reroute."""

    id: int
    department: str
    channel: str
    account: str | None
    status: str
    created_at: datetime
    last_responder: str | None = None
    assignee: str | None = None
    resolved: int = 0
    reopened: int = 0
    rerouted_from: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TimerFact:
    """An ended or running timer segment. `business_seconds`: the open time it used on its own
    calendar (pauses left out); `goal_user`: the user whose action reached its goal (None when it
    was not reached, or a department or the system reached it)."""

    case_id: int
    kind: str
    department: str
    state: str
    stop_reason: str | None
    started_at: datetime
    stopped_at: datetime | None
    business_seconds: float
    goal_user: str | None = None

    @property
    def reached_goal(self) -> bool:
        """Ended by its goal (in time: `met`; late: `breached` without a stop reason)."""
        return self.stopped_at is not None and self.stop_reason is None and self.state in ("met", "breached")

    @property
    def wall_seconds(self) -> float | None:
        return (self.stopped_at - self.started_at).total_seconds() if self.stopped_at is not None else None


@dataclass(frozen=True, slots=True)
class MentionFact:
    case_id: int
    received_at: datetime
    channel: str
    account: str | None


@dataclass(frozen=True, slots=True)
class FeedbackFact:
    """A case's answer; `department`, `channel` and `agent` as they were when it was recorded."""

    case_id: int
    score: int
    csat: int | None
    department: str
    channel: str
    agent: str | None


@dataclass(frozen=True, slots=True)
class Facts:
    """The report's input: `cases` opened in the window (and those `mentions` in the window belong
    to, with `opened_in_window` telling them apart), their timers and answers; `backlog`: every
    case not resolved or closed now."""

    cases: dict[int, CaseFact]
    opened_in_window: frozenset[int]
    timers: tuple[TimerFact, ...] = ()
    mentions: tuple[MentionFact, ...] = ()
    feedback: tuple[FeedbackFact, ...] = ()
    backlog: tuple[CaseFact, ...] = field(default_factory=tuple)
