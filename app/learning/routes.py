"""`GET /api/v1/reports/routing`: how often cases stayed with the department the rules chose."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from app.kernel.clock import utc_now
from app.learning.history import outcomes_of
from app.learning.records import case_records
from app.learning.report import report_csv, routing_report
from app.web.deps import DbSession, require_role
from app.web.reports import CSV_RESPONSE, Format, From, To, report_window, wants_csv

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])


class ShareOut(BaseModel):
    cases: int
    stayed: int
    misrouted: int
    share_stayed: float | None


class RuleOut(ShareOut):
    rule: str
    department: str
    final: dict[str, int]
    examples: list[str]


class FlowOut(BaseModel):
    rules_department: str
    final_department: str
    cases: int
    examples: list[str]


class DefaultOut(BaseModel):
    cases: int
    stayed: int
    handed_on: int
    flows: list[FlowOut]


class AccountOut(ShareOut):
    account: str | None


class RoutingReportOut(BaseModel):
    """Cases opened in [from, to). `decided`: those a rule decided; `rules`: per deciding rule,
    most misroutes first; `flows`: per (rules' department -> final department), stays included;
    `default`: the cases that fell to the default, apart; `accounts`: per account of ours."""

    from_: datetime = Field(alias="from")
    to: datetime
    decided: ShareOut
    rules: list[RuleOut]
    flows: list[FlowOut]
    default: DefaultOut
    accounts: list[AccountOut]


@router.get("/routing", summary="Routing quality from what people did with the cases",
            dependencies=[require_role("lead")], responses={200: CSV_RESPONSE}, response_model=RoutingReportOut)
def get_routing_report(
    request: Request,
    session: DbSession,
    from_: From = None,
    to: To = None,
    format: Format = None,
) -> Response | dict[str, Any]:
    """The share of the cases opened in [from, to) that stayed with the department the rules chose,
    per deciding rule (most misroutes first) and per (rules' department -> final department), with
    example cases. A handoff or reroute by a person after the rules' decision is a label; SLA
    escalation steps and reclassification are not. Cases that fell to the default are counted
    apart (handed on by a person: the rules that are missing). Leads and ops."""
    start, end = report_window(from_, to, now=utc_now())
    report = routing_report(outcomes_of(case_records(session, start=start, end=end)), start=start, end=end)
    if wants_csv(request, format):
        return Response(report_csv(report), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="routing-report.csv"'})
    return report.to_json()
