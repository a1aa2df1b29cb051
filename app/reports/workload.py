"""The workload report: mentions per hour of the week (staffing), open and claimed cases per agent
and per department now, and the queue's age profile. `workload` is pure; `read_workload` reads
its rows."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.cases.models import Case
from app.kernel.vocabulary import ACTIVE_STATUSES
from app.mentions.stored import StoredMention
from app.reports.kpis import WEEKDAYS

# The queue's age brackets: (label, upper bound); the last is open-ended.
AGE_BRACKETS: tuple[tuple[str, timedelta | None], ...] = (
    ("<1h", timedelta(hours=1)), ("1h-4h", timedelta(hours=4)), ("4h-24h", timedelta(days=1)),
    ("1d-3d", timedelta(days=3)), ("3d-7d", timedelta(days=7)), (">=7d", None))


@dataclass(frozen=True, slots=True)
class OpenCase:
    """A case not resolved or closed now."""

    department: str
    status: str
    assignee: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Workload:
    timezone: str
    weeks: float
    hours: tuple[dict[str, Any], ...]
    agents: tuple[dict[str, Any], ...]
    departments: tuple[dict[str, Any], ...]
    queue_age: tuple[dict[str, Any], ...]

    def to_json(self) -> dict[str, Any]:
        return {"timezone": self.timezone, "weeks": self.weeks, "mentions_by_hour_of_week": list(self.hours),
                "agents": list(self.agents), "departments": list(self.departments),
                "queue_age": list(self.queue_age)}


def workload(mentions: Sequence[datetime], open_cases: Sequence[OpenCase], *, start: datetime, end: datetime,
             now: datetime, tz: ZoneInfo) -> Workload:
    """Mentions received (`mentions`, in [start, end)) per weekday and hour in `tz`, all 168 hours,
    with `per_week` = mentions / the window's length in weeks (two decimals); per agent the open
    cases assigned to them (`claimed`, and by status); per department its open cases, how many are
    claimed and unclaimed; the open cases by age at `now` in `AGE_BRACKETS` (a bracket holds ages
    from the previous bound up to, not including, its own)."""
    weeks = (end - start) / timedelta(weeks=1)
    slots = Counter((m.astimezone(tz).weekday(), m.astimezone(tz).hour) for m in mentions)
    hours = tuple({"weekday": WEEKDAYS[day], "hour": hour, "mentions": slots[(day, hour)],
                   "per_week": round(slots[(day, hour)] / weeks, 2)} for day in range(7) for hour in range(24))
    agents: dict[str, Counter[str]] = {}
    departments: dict[str, Counter[str]] = {}
    ages: Counter[str] = Counter()
    for case in open_cases:
        mine = departments.setdefault(case.department, Counter())
        mine["open"] += 1
        mine["claimed" if case.assignee else "unclaimed"] += 1
        if case.assignee:
            theirs = agents.setdefault(case.assignee, Counter())
            theirs["claimed"] += 1
            theirs[case.status] += 1
        ages[_bracket(now - case.created_at)] += 1
    return Workload(
        tz.key, round(weeks, 4), hours,
        tuple({"agent": name, "claimed": c["claimed"], **{s: c[s] for s in ACTIVE_STATUSES}}
              for name, c in sorted(agents.items())),
        tuple({"department": name, "open": c["open"], "claimed": c["claimed"], "unclaimed": c["unclaimed"]}
              for name, c in sorted(departments.items())),
        tuple({"age": label, "cases": ages[label]} for label, _ in AGE_BRACKETS))


def _bracket(age: timedelta) -> str:
    for label, bound in AGE_BRACKETS:
        if bound is None or age < bound:
            return label
    raise AssertionError("the last bracket is open-ended")


def read_workload(session: Session, *, start: datetime, end: datetime, now: datetime, tz: ZoneInfo) -> Workload:
    mentions = list(session.scalars(select(StoredMention.received_at)
                                    .where(StoredMention.received_at >= start, StoredMention.received_at < end)))
    open_cases = [OpenCase(*row) for row in session.execute(
        select(Case.department, Case.status, User.username, Case.created_at)
        .outerjoin(User, User.id == Case.assignee_id).where(Case.status.in_(ACTIVE_STATUSES)))]
    return workload(mentions, open_cases, start=start, end=end, now=now, tz=tz)


def workload_csv(report: Workload) -> str:
    """One table: `section` (hour, agent, department, age) and the columns each section uses."""
    out = io.StringIO()
    header = ["section", "weekday", "hour", "mentions", "per_week", "agent", "department", "age", "open", "claimed",
              "unclaimed", *ACTIVE_STATUSES, "cases"]
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\r\n", restval="")
    writer.writeheader()
    for section, rows in (("hour", report.hours), ("agent", report.agents), ("department", report.departments),
                          ("age", report.queue_age)):
        writer.writerows({"section": section, **row} for row in rows)
    return out.getvalue()
