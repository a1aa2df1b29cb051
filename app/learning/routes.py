"""`GET /api/v1/reports/routing`: how often cases stayed with the department the rules chose."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, Field

from app.kernel.clock import utc_now
from app.learning.history import outcomes_of
from app.learning.records import case_records
from app.learning.report import report_csv, routing_report
from app.web.deps import DbSession, require_role
from app.web.problems import InvalidInput

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])
DEFAULT_WINDOW = timedelta(days=30)
MAX_WINDOW = timedelta(days=366)


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


CSV_RESPONSE = {"content": {"text/csv": {"schema": {"type": "string"}}},
                "description": "The report (JSON), or one CSV table with `format=csv` or `Accept: text/csv`"}


@router.get("/routing", summary="Routing quality from what people did with the cases",
            dependencies=[require_role("lead")], responses={200: CSV_RESPONSE}, response_model=RoutingReportOut)
def get_routing_report(
    request: Request,
    session: DbSession,
    from_: Annotated[AwareDatetime | None, Query(alias="from", description="default: 30 days before `to`")] = None,
    to: Annotated[AwareDatetime | None, Query(description="default: now")] = None,
    format: Annotated[Literal["json", "csv"] | None, Query(description="default: by the Accept header")] = None,
) -> Response | dict[str, Any]:
    """The share of the cases opened in [from, to) that stayed with the department the rules chose,
    per deciding rule (most misroutes first) and per (rules' department -> final department), with
    example cases. A handoff or reroute by a person after the rules' decision is a label; SLA
    escalation steps and reclassification are not. Cases that fell to the default are counted
    apart (handed on by a person: the rules that are missing). Leads and ops."""
    end = (to or utc_now()).astimezone(UTC)
    start = (from_ or end - DEFAULT_WINDOW).astimezone(UTC)
    if start >= end:
        raise InvalidInput([{"field": "from", "message": "must be before `to`"}])
    if end - start > MAX_WINDOW:
        raise InvalidInput([{"field": "from", "message": "the window may span at most 366 days"}])
    report = routing_report(outcomes_of(case_records(session, start=start, end=end)), start=start, end=end)
    wants_csv = format == "csv" or (format is None and "text/csv" in request.headers.get("accept", ""))
    if wants_csv:
        return Response(report_csv(report), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="routing-report.csv"'})
    return report.to_json()
