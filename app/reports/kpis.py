"""The KPI reports per department, channel or agent, optionally split by account, weekday, hour or
hour of the week. Pure: rows in (`app.reports.facts`), figures out; `now` is an argument.

Who a figure belongs to (`group`):
- department: a case's figures (volume, backlog, reopen rate) to its owner now; a timer's (times,
  compliance) to the department it ran for (`first_response` to triage, each `department_ack`
  segment to its own department, `resolution` to the owner); a reroute to the department that
  rerouted; an answer to the owner when it was recorded.
- channel: everything to the case's channel.
- agent: a case to the user who sent its last response; a timer to the user whose action reached
  its goal (timers a department or nobody ended are left out); backlog to the assignee; an answer
  to the agent who had sent the last response when it was recorded.
Where a figure falls in time (`by`): the moment its case opened, a mention the moment it arrived,
in the organisation's time zone.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from app.reports.facts import CaseFact, Facts, FeedbackFact

GROUPS = ("department", "channel", "agent")
SPLITS = ("account", "weekday", "hour", "weekday_hour")
TIMED = ("first_response", "department_ack", "resolution")
TIMERS = ("first_response", "next_response", "department_ack", "resolution")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def median(values: Sequence[float]) -> int | None:
    """The median in whole seconds (the mean of the middle two for an even count), None for none."""
    return _whole(statistics.median(values)) if values else None


def p90(values: Sequence[float]) -> int | None:
    """The 90th percentile by nearest rank (the smallest value with at least 90% of the values at
    or below it), in whole seconds; None for none."""
    if not values:
        return None
    ordered = sorted(values)
    return _whole(ordered[math.ceil(0.9 * len(ordered)) - 1])


def nps(scores: Sequence[int]) -> float | None:
    """% of 9-10 minus % of 0-6, one decimal; None without answers."""
    if not scores:
        return None
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)
    return round(100 * (promoters - detractors) / len(scores), 1)


def csat(answers: Sequence[int]) -> float | None:
    """% of 4-5 among the 1-5 answers, one decimal; None without answers."""
    return round(100 * sum(1 for a in answers if a >= 4) / len(answers), 1) if answers else None


def _whole(seconds: float) -> int:
    return math.floor(seconds + 0.5)


@dataclass
class _Cell:
    """What one row gathers before its figures are computed."""

    cases: int = 0
    mentions: int = 0
    business: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    wall: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    outcomes: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    backlog_ages: list[float] = field(default_factory=list)
    resolved: int = 0
    reopened: int = 0
    reroutes: int = 0
    scores: list[int] = field(default_factory=list)
    csats: list[int] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        out: dict[str, Any] = {"cases": self.cases, "mentions": self.mentions}
        for kind in TIMED:
            for clock, values in (("business", self.business[kind]), ("wall", self.wall[kind])):
                out[f"{kind}_{clock}_median_s"] = median(values)
                out[f"{kind}_{clock}_p90_s"] = p90(values)
        for kind in TIMERS:
            counts = self.outcomes[kind]
            met, breached = counts["met"], counts["breached"]
            out[f"sla_{kind}_met"], out[f"sla_{kind}_breached"] = met, breached
            out[f"sla_{kind}_stopped"] = counts["stopped"]
            out[f"sla_{kind}_compliance"] = round(met / (met + breached), 4) if met + breached else None
        out.update({"backlog": len(self.backlog_ages), "backlog_age_median_s": median(self.backlog_ages),
                    "backlog_age_p90_s": p90(self.backlog_ages),
                    "backlog_age_max_s": _whole(max(self.backlog_ages)) if self.backlog_ages else None,
                    "resolved": self.resolved, "reopened": self.reopened,
                    "reopen_rate": round(self.reopened / self.resolved, 4) if self.resolved else None,
                    "reroutes": self.reroutes, "feedback": len(self.scores),
                    "promoters": sum(1 for s in self.scores if s >= 9),
                    "passives": sum(1 for s in self.scores if 7 <= s <= 8),
                    "detractors": sum(1 for s in self.scores if s <= 6), "nps": nps(self.scores),
                    "csat_answers": len(self.csats), "csat_satisfied": sum(1 for a in self.csats if a >= 4),
                    "csat": csat(self.csats)})
        return out


@dataclass(frozen=True, slots=True)
class Report:
    group: str
    split: str | None
    timezone: str
    rows: tuple[dict[str, Any], ...]
    total: dict[str, Any]


def kpi_report(facts: Facts, *, group: str, split: str | None, tz: ZoneInfo, now: datetime,
               department: str | None = None, channel: str | None = None) -> Report:
    """The report of `facts` per `group` value (and `split` value), rows sorted by them, and the
    total over every row. `department` / `channel` keep only that department's / channel's
    figures: in the department report the department's own row, elsewhere the cases it owns now.
    Reopen rate: of the cases resolved at least once, the share reopened at least once."""
    if group not in GROUPS or (split is not None and split not in SPLITS):
        raise ValueError(f"unknown grouping {group}/{split}")
    cells: dict[tuple[str, str | int | None], _Cell] = defaultdict(_Cell)
    total = _Cell()

    def keep(case: CaseFact) -> bool:
        return (channel is None or case.channel == channel) and \
            (department is None or group == "department" or case.department == department)

    def place(key: str | None, case: CaseFact, at: datetime, add: Callable[[_Cell], None]) -> None:
        if key is None or not keep(case) or (group == "department" and department not in (None, key)):
            return
        add(cells[(key, _split_key(split, case, at, tz))])
        add(total)

    opened = [facts.cases[i] for i in sorted(facts.opened_in_window)]
    for case in opened:
        place(_case_key(group, case), case, case.created_at, lambda c: setattr(c, "cases", c.cases + 1))
        if case.resolved:
            place(_case_key(group, case), case, case.created_at, _resolved(case))
        for source in case.rerouted_from:
            key = source if group == "department" else case.channel if group == "channel" else None
            place(key, case, case.created_at, lambda c: setattr(c, "reroutes", c.reroutes + 1))
    for mention in facts.mentions:
        case = facts.cases[mention.case_id]
        key = mention.channel if group == "channel" else _case_key(group, case)
        place(key, _with_account(case, mention.account), mention.received_at,
              lambda c: setattr(c, "mentions", c.mentions + 1))
    for timer in facts.timers:
        if timer.case_id not in facts.opened_in_window or timer.stopped_at is None:
            continue
        case = facts.cases[timer.case_id]
        key = timer.department if group == "department" else case.channel if group == "channel" else timer.goal_user
        place(key, case, case.created_at, _timer(timer.kind, timer.state, timer.reached_goal, timer.business_seconds,
                                                 timer.wall_seconds))
    for answer in facts.feedback:
        if answer.case_id in facts.opened_in_window:
            case = facts.cases[answer.case_id]
            place(_answer_key(group, answer), case, case.created_at, _answer(answer))
    for case in facts.backlog:
        key = case.assignee if group == "agent" else _case_key(group, case)
        place(key, case, case.created_at, _aged((now - case.created_at).total_seconds()))
    rows = [{group: key, **({split: part} if split else {}), **cell.figures()}
            for (key, part), cell in sorted(cells.items(), key=lambda item: _order(item[0]))]
    return Report(group, split, tz.key, tuple(rows), {group: None, **total.figures()})


def _case_key(group: str, case: CaseFact) -> str | None:
    return {"department": case.department, "channel": case.channel, "agent": case.last_responder}[group]


def _answer_key(group: str, answer: FeedbackFact) -> str | None:
    return {"department": answer.department, "channel": answer.channel, "agent": answer.agent}[group]


def _split_key(split: str | None, case: CaseFact, at: datetime, tz: ZoneInfo) -> str | int | None:
    if split is None:
        return None
    if split == "account":
        return case.account or ""
    local = at.astimezone(tz)
    if split == "hour":
        return local.hour
    day = WEEKDAYS[local.weekday()]
    return day if split == "weekday" else f"{day} {local.hour:02d}"


def _order(key: tuple[str, str | int | None]) -> tuple[str, int, str]:
    name, part = key
    if isinstance(part, str) and part[:3] in WEEKDAYS:
        return name, WEEKDAYS.index(part[:3]), part
    return name, part if isinstance(part, int) else 0, part if isinstance(part, str) else ""


def _with_account(case: CaseFact, account: str | None) -> CaseFact:
    """A mention is split by the account it reached (the case's when it names none)."""
    return case if account is None or account == case.account else replace(case, account=account)


def _resolved(case: CaseFact) -> Callable[[_Cell], None]:
    def add(cell: _Cell) -> None:
        cell.resolved += 1
        cell.reopened += 1 if case.reopened else 0
    return add


def _timer(kind: str, state: str, reached: bool, business: float, wall: float | None) -> Callable[[_Cell], None]:
    def add(cell: _Cell) -> None:
        cell.outcomes[kind][state if state in ("met", "breached") else "stopped"] += 1
        if reached and kind in TIMED and wall is not None:
            cell.business[kind].append(business)
            cell.wall[kind].append(wall)
    return add


def _aged(age: float) -> Callable[[_Cell], None]:
    def add(cell: _Cell) -> None:
        cell.backlog_ages.append(age)
    return add


def _answer(answer: FeedbackFact) -> Callable[[_Cell], None]:
    def add(cell: _Cell) -> None:
        cell.scores.append(answer.score)
        if answer.csat is not None:
            cell.csats.append(answer.csat)
    return add


def columns(group: str, split: str | None) -> list[str]:
    """The CSV header: the group, the split, then every figure in `_Cell.figures` order."""
    return [group, *([split] if split else []), *_Cell().figures()]


def as_rows(report: Report) -> Iterable[dict[str, Any]]:
    """The report's rows and then its total (group value empty), as the CSV writes them."""
    yield from report.rows
    yield {**report.total, report.group: "(total)"}
