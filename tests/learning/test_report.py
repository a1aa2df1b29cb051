"""The routing report over a hand-built history whose figures are worked out below."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from app.learning.history import CaseRecord, EventRecord, move_event, outcome_of, outcomes_of, rule_event
from app.learning.report import report_csv, report_text, routing_report

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
RULE_HANDOFF = EventRecord("handed_off", "rule", {"from": "webcare", "to": "x"})  # the rules' own, at creation


def case(n: int, *events: EventRecord, account: str | None = None) -> CaseRecord:
    return CaseRecord(f"WC-{n:06d}", T0 + timedelta(hours=n), f"text {n}", events, account)


HISTORY = [
    # The `billing` rule decides five cases:
    case(1, rule_event("billing", "billing"), RULE_HANDOFF, account="brand"),             # stays
    case(2, rule_event("billing", "billing"), move_event("network"), account="brand"),    # agent: network
    case(3, rule_event("billing", "billing"),                                             # billing bounces it,
         move_event("webcare", by="department", type="rerouted"), move_event("network")),  # agent: network
    case(4, rule_event("billing", "billing"), move_event("webcare", by="escalation")),     # SLA step: no label
    case(5, rule_event("network", "outage"), rule_event("billing", "billing", type="reclassified")),  # stays
    # The `outage` rule decides two:
    case(6, rule_event("network", "outage")),                                             # stays
    case(7, rule_event("network", "outage"), move_event("billing", by="department", type="rerouted")),
    # Four fall to the default (webcare); three of them a person hands on:
    case(8, rule_event("webcare", None), move_event("sales")),
    case(9, rule_event("webcare", None)),
    case(10, rule_event("webcare", None), move_event("sales")),
    case(11, rule_event("webcare", None), move_event("network")),
    # No rule decision in the timeline: nothing to judge.
    case(12, move_event("network")),
]


def test_outcomes_follow_the_last_person_after_the_last_rule_decision() -> None:
    assert outcome_of(HISTORY[2]).final_department == "network"  # type: ignore[union-attr]
    assert outcome_of(HISTORY[3]).stayed  # type: ignore[union-attr]
    reclassified = outcome_of(HISTORY[4])
    assert reclassified is not None and (reclassified.rules_department, reclassified.deciding_rule) == \
        ("billing", "billing")
    assert outcome_of(HISTORY[11]) is None
    assert len(outcomes_of(HISTORY)) == 11


def test_the_report_figures() -> None:
    report = routing_report(outcomes_of(HISTORY), start=T0, end=T0 + timedelta(days=1), examples=2)
    body = report.to_json()
    # 7 decided by a rule; 1, 4, 5 and 6 stayed: 4/7.
    assert body["decided"] == {"cases": 7, "stayed": 4, "misrouted": 3, "share_stayed": 0.5714}
    # billing: 1-5, of which 2 and 3 went to network; outage: 6 and 7, 7 went to billing.
    assert body["rules"] == [
        {"rule": "billing", "department": "billing", "cases": 5, "stayed": 3, "misrouted": 2, "share_stayed": 0.6,
         "final": {"network": 2}, "examples": ["WC-000003", "WC-000002"]},
        {"rule": "outage", "department": "network", "cases": 2, "stayed": 1, "misrouted": 1, "share_stayed": 0.5,
         "final": {"billing": 1}, "examples": ["WC-000007"]},
    ]
    assert [(f["rules_department"], f["final_department"], f["cases"], f["examples"]) for f in body["flows"]] == [
        ("billing", "billing", 3, ["WC-000005", "WC-000004"]),
        ("billing", "network", 2, ["WC-000003", "WC-000002"]),
        ("network", "billing", 1, ["WC-000007"]),
        ("network", "network", 1, ["WC-000006"]),
    ]
    # The default cases are apart: 4, of which 8, 10 and 11 were handed on (not misroutes).
    assert body["default"] == {"cases": 4, "stayed": 1, "handed_on": 3, "flows": [
        {"rules_department": "webcare", "final_department": "sales", "cases": 2,
         "examples": ["WC-000010", "WC-000008"]},
        {"rules_department": "webcare", "final_department": "network", "cases": 1, "examples": ["WC-000011"]},
    ]}
    assert body["accounts"] == [
        {"account": "brand", "cases": 2, "stayed": 1, "misrouted": 1, "share_stayed": 0.5},
        {"account": None, "cases": 5, "stayed": 3, "misrouted": 2, "share_stayed": 0.6},
    ]
    assert (body["from"], body["to"]) == ("2026-11-01T09:00:00Z", "2026-11-02T09:00:00Z")


def test_csv_and_text_carry_the_same_figures() -> None:
    report = routing_report(outcomes_of(HISTORY), start=T0, end=T0 + timedelta(days=1))
    rows = list(csv.DictReader(io.StringIO(report_csv(report))))
    assert rows[0] == {"section": "decided", "rule": "", "account": "", "rules_department": "",
                            "final_department": "", "cases": "7", "stayed": "4", "misrouted": "3",
                            "share_stayed": "0.5714", "examples": ""}
    billing = next(r for r in rows if r["section"] == "rule" and r["rule"] == "billing")
    assert (billing["cases"], billing["misrouted"], billing["examples"]) == ("5", "2", "WC-000003 WC-000002")
    assert [(r["final_department"], r["cases"]) for r in rows if r["section"] == "default"] == \
        [("sales", "2"), ("network", "1")]
    text = report_text(report)
    assert "decided by a rule: 7, stayed 4 (57.1%), misrouted 3" in text
    assert text.index("billing ") < text.index("outage ")  # most misroutes first
    assert "fell to the default: 4, handed on by a person 3" in text


def test_an_empty_window() -> None:
    body = routing_report([], start=T0, end=T0 + timedelta(days=1)).to_json()
    assert body["decided"] == {"cases": 0, "stayed": 0, "misrouted": 0, "share_stayed": None}
    assert body["rules"] == body["flows"] == body["accounts"] == [] and body["default"]["cases"] == 0
