"""The routing-quality report: how often cases stayed with the department the rules chose. Pure.

Over the outcomes of the cases opened in a window (`app.learning.history`):
- cases a rule decided: the share that stayed, per deciding rule (most misroutes first) and per
  (rules' department -> final department), each with example cases;
- cases that fell to the default, apart: how many a person handed on, and where to (the rules
  that are missing), never counted as misroutes;
- per account of ours, the share that stayed (cases a rule decided).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.kernel.timefmt import iso_z
from app.learning.history import Outcome

EXAMPLES = 3


@dataclass(frozen=True, slots=True)
class Share:
    """`stayed` of `cases` stayed with the rules' department."""

    cases: int
    stayed: int

    @property
    def moved(self) -> int:
        return self.cases - self.stayed

    @property
    def share(self) -> float | None:
        """stayed / cases, rounded to 4 places; None without cases."""
        return round(self.stayed / self.cases, 4) if self.cases else None


@dataclass(frozen=True, slots=True)
class RuleLine:
    rule: str
    department: str
    share: Share
    final: dict[str, int]  # where its moved cases ended, by department
    examples: tuple[str, ...]  # refs of moved cases (of any case when none moved)


@dataclass(frozen=True, slots=True)
class FlowLine:
    rules_department: str
    final_department: str
    cases: int
    examples: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AccountLine:
    account: str | None
    share: Share


@dataclass(frozen=True, slots=True)
class RoutingReport:
    start: datetime
    end: datetime
    decided: Share
    rules: tuple[RuleLine, ...]
    flows: tuple[FlowLine, ...]
    default: Share  # cases that fell to the default; `moved` = handed on by a person
    default_flows: tuple[FlowLine, ...]
    accounts: tuple[AccountLine, ...]

    def to_json(self) -> dict[str, Any]:
        """The report as `GET /api/v1/reports/routing` answers it."""
        return {
            "from": iso_z(self.start), "to": iso_z(self.end),
            "decided": _share_json(self.decided),
            "rules": [{"rule": r.rule, "department": r.department, **_share_json(r.share),
                       "final": r.final, "examples": list(r.examples)} for r in self.rules],
            "flows": [_flow_json(f) for f in self.flows],
            "default": {"cases": self.default.cases, "stayed": self.default.stayed,
                        "handed_on": self.default.moved, "flows": [_flow_json(f) for f in self.default_flows]},
            "accounts": [{"account": a.account, **_share_json(a.share)} for a in self.accounts],
        }


def routing_report(outcomes: Sequence[Outcome], *, start: datetime, end: datetime,
                   examples: int = EXAMPLES) -> RoutingReport:
    """The report over `outcomes` (the caller selects the window's cases). Rules are ordered by
    misroutes (most first), then by share stayed (lowest first), then id; flows by cases (most
    first), then names. Examples are the newest cases of a group."""
    decided = [o for o in outcomes if not o.fell_to_default]
    fallen = [o for o in outcomes if o.fell_to_default]
    newest_first = sorted(decided, key=lambda o: (o.created_at, o.ref), reverse=True)
    rules = []
    for rule in sorted({o.deciding_rule for o in decided if o.deciding_rule is not None}):
        mine = [o for o in newest_first if o.deciding_rule == rule]
        moved = [o for o in mine if not o.stayed]
        rules.append(RuleLine(rule, mine[0].rules_department, _share(mine),
                              dict(sorted(Counter(o.final_department for o in moved).items())),
                              tuple(o.ref for o in (moved or mine)[:examples])))
    rules.sort(key=lambda r: (-r.share.moved, r.share.share if r.share.share is not None else 1.0, r.rule))
    default_moved = [o for o in sorted(fallen, key=lambda o: (o.created_at, o.ref), reverse=True) if not o.stayed]
    return RoutingReport(
        start, end, _share(decided), tuple(rules), _flows(newest_first, examples), _share(fallen),
        _flows(default_moved, examples),
        tuple(AccountLine(account, _share([o for o in decided if o.account == account]))
              for account in sorted({o.account for o in decided}, key=lambda a: (a is None, a or ""))),
    )


def report_csv(report: RoutingReport) -> str:
    """The report as one CSV table: a row per rule, per flow, per default flow and per account
    (`section` says which); `examples` are refs separated by spaces."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["section", "rule", "account", "rules_department", "final_department", "cases", "stayed",
                     "misrouted", "share_stayed", "examples"])
    writer.writerow(["decided", "", "", "", "", *_share_cells(report.decided), ""])
    for r in report.rules:
        writer.writerow(["rule", r.rule, "", r.department, "", *_share_cells(r.share), " ".join(r.examples)])
    for f in report.flows:
        writer.writerow(["flow", "", "", f.rules_department, f.final_department, f.cases,
                         f.cases if f.rules_department == f.final_department else 0,
                         0 if f.rules_department == f.final_department else f.cases, "", " ".join(f.examples)])
    for f in report.default_flows:
        writer.writerow(["default", "", "", f.rules_department, f.final_department, f.cases, 0, "", "",
                         " ".join(f.examples)])
    for a in report.accounts:
        writer.writerow(["account", "", a.account or "", "", "", *_share_cells(a.share), ""])
    return out.getvalue()


def report_text(report: RoutingReport) -> str:
    """The report as `webcare rules quality` prints it."""
    lines = [f"cases opened {iso_z(report.start)} .. {iso_z(report.end)}",
             f"decided by a rule: {report.decided.cases}, stayed {report.decided.stayed} "
             f"({_percent(report.decided)}), misrouted {report.decided.moved}"]
    if report.rules:
        lines.append("\nper deciding rule (most misroutes first):")
        width = max(len(r.rule) for r in report.rules)
        for r in report.rules:
            went = ", ".join(f"{d} {n}" for d, n in r.final.items())
            lines.append(f"  {r.rule:<{width}}  -> {r.department:<14} {r.share.stayed}/{r.share.cases} stayed "
                         f"({_percent(r.share)})" + (f"; moved to {went}" if went else "")
                         + (f"  e.g. {' '.join(r.examples)}" if r.share.moved else ""))
    moved_flows = [f for f in report.flows if f.rules_department != f.final_department]
    if moved_flows:
        lines.append("\nmisroutes (rules' department -> final department):")
        lines += [f"  {f.rules_department} -> {f.final_department}: {f.cases}  e.g. {' '.join(f.examples)}"
                  for f in moved_flows]
    lines.append(f"\nfell to the default: {report.default.cases}, handed on by a person {report.default.moved}"
                 " (rules that are missing):")
    lines += [f"  {f.rules_department} -> {f.final_department}: {f.cases}  e.g. {' '.join(f.examples)}"
              for f in report.default_flows]
    if report.accounts:
        lines.append("\nper account (decided by a rule):")
        lines += [f"  {a.account or '(none)'}: {a.share.stayed}/{a.share.cases} stayed ({_percent(a.share)})"
                  for a in report.accounts]
    return "\n".join(lines) + "\n"


def _share(outcomes: Sequence[Outcome]) -> Share:
    return Share(len(outcomes), sum(1 for o in outcomes if o.stayed))


def _flows(outcomes: Sequence[Outcome], examples: int) -> tuple[FlowLine, ...]:
    groups: dict[tuple[str, str], list[str]] = {}
    for o in outcomes:
        groups.setdefault((o.rules_department, o.final_department), []).append(o.ref)
    lines = [FlowLine(src, dst, len(refs), tuple(refs[:examples])) for (src, dst), refs in groups.items()]
    return tuple(sorted(lines, key=lambda f: (-f.cases, f.rules_department, f.final_department)))


def _share_json(share: Share) -> dict[str, Any]:
    return {"cases": share.cases, "stayed": share.stayed, "misrouted": share.moved, "share_stayed": share.share}


def _share_cells(share: Share) -> list[Any]:
    return [share.cases, share.stayed, share.moved, "" if share.share is None else share.share]


def _flow_json(flow: FlowLine) -> dict[str, Any]:
    return {"rules_department": flow.rules_department, "final_department": flow.final_department,
            "cases": flow.cases, "examples": list(flow.examples)}


def _percent(share: Share) -> str:
    return "-" if share.share is None else f"{share.share * 100:.1f}%"


