"""`GET /api/v1/reports/departments|channels|agents` (KPIs) and `GET /api/v1/reports/workload`.

Leads and ops. JSON, or CSV with `format=csv` or `Accept: text/csv` (as the routing report)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from app.kernel.clock import utc_now
from app.kernel.timefmt import iso_z
from app.reports.kpis import Report, as_rows, columns, kpi_report
from app.reports.queries import read_facts
from app.reports.workload import read_workload, workload_csv
from app.web.deps import ActiveRuleSet, DbSession, require_role
from app.web.problems import InvalidInput
from app.web.reports import CSV_RESPONSE, Format, From, To, report_window, wants_csv

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])
Department = Annotated[str | None, Query(max_length=64, description="only this department (an id in departments.yaml)")]
Channel = Annotated[str | None, Query(pattern=r"^[a-z0-9_-]{1,40}$", description="only this channel (e.g. x)")]
Split = Annotated[Literal["account", "weekday", "hour", "weekday_hour"] | None, Query(
    alias="by", description="split each row by our account, the weekday, the hour or the hour of the week "
                            "(in the organisation's time zone, WEBCARE_TIMEZONE)")]


class KpiReportOut(BaseModel):
    """`rows`: one per group value (and `by` value); `total`: over every row (group value null).
    Times are whole seconds (median and p90 by nearest rank), `business` on each timer's own
    calendar and `wall` on the clock; compliance is met / (met + breached), stopped timers apart."""

    model_config = ConfigDict(populate_by_name=True)

    from_: datetime = Field(alias="from")
    to: datetime
    now: datetime
    timezone: str
    group: str
    by: str | None
    columns: list[str]
    rows: list[dict[str, Any]]
    total: dict[str, Any]


ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"description": "A bad parameter: a date, `from` not before `to`, a window over 366 days, an unknown "
                         "department, `by` or `format`"}}


def csv_response(header: list[str], rows: list[dict[str, Any]], name: str) -> Response:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\r\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows({k: "" if v is None else v for k, v in row.items()} for row in rows)
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


def _kpis(group: str, request: Request, session: DbSession, ruleset: ActiveRuleSet, from_: datetime | None,
          to: datetime | None, department: str | None, channel: str | None, split: str | None,
          format: str | None) -> Response | dict[str, Any]:
    if department is not None and department not in ruleset.departments:
        raise InvalidInput([{"field": "department",
                             "message": f"unknown department; known: {', '.join(sorted(ruleset.departments))}"}])
    now = utc_now()
    start, end = report_window(from_, to, now=now)
    tz = ZoneInfo(request.app.state.settings.timezone)
    report = kpi_report(read_facts(session, start=start, end=end), group=group, split=split, tz=tz, now=now,
                        department=department, channel=channel)
    if wants_csv(request, format):
        return csv_response(columns(group, split), list(as_rows(report)), f"{group}-report")
    return _json(report, start, end, now)


def _json(report: Report, start: datetime, end: datetime, now: datetime) -> dict[str, Any]:
    return {"from": iso_z(start), "to": iso_z(end), "now": iso_z(now), "timezone": report.timezone,
            "group": report.group, "by": report.split, "columns": columns(report.group, report.split),
            "rows": list(report.rows), "total": report.total}


DOC = """KPIs of the cases opened in [from, to) per {what}: volume (cases opened; mentions received in
the window), first-response, department-acknowledgement and resolution times (median and p90 in
business time on each timer's calendar and in wall time, whole seconds; timers that reached their
goal), SLA compliance per timer (met / (met + breached); stopped timers counted apart), backlog now
and its age, reopen rate, reroutes, NPS and CSAT. See docs/reports.md for who each figure belongs
to. Leads and ops."""


@router.get("/departments", summary="KPIs per department", dependencies=[require_role("lead")],
            responses={200: CSV_RESPONSE, **ERRORS}, response_model=KpiReportOut)
def departments_report(request: Request, session: DbSession, ruleset: ActiveRuleSet, from_: From = None,
                       to: To = None, department: Department = None, channel: Channel = None, by: Split = None,
                       format: Format = None) -> Response | dict[str, Any]:
    return _kpis("department", request, session, ruleset, from_, to, department, channel, by, format)


@router.get("/channels", summary="KPIs per channel", dependencies=[require_role("lead")],
            responses={200: CSV_RESPONSE, **ERRORS}, response_model=KpiReportOut)
def channels_report(request: Request, session: DbSession, ruleset: ActiveRuleSet, from_: From = None,
                    to: To = None, department: Department = None, channel: Channel = None, by: Split = None,
                    format: Format = None) -> Response | dict[str, Any]:
    return _kpis("channel", request, session, ruleset, from_, to, department, channel, by, format)


@router.get("/agents", summary="KPIs per agent", dependencies=[require_role("lead")],
            responses={200: CSV_RESPONSE, **ERRORS}, response_model=KpiReportOut)
def agents_report(request: Request, session: DbSession, ruleset: ActiveRuleSet, from_: From = None,
                  to: To = None, department: Department = None, channel: Channel = None, by: Split = None,
                  format: Format = None) -> Response | dict[str, Any]:
    return _kpis("agent", request, session, ruleset, from_, to, department, channel, by, format)


departments_report.__doc__ = DOC.format(what="department")
channels_report.__doc__ = DOC.format(what="channel")
agents_report.__doc__ = DOC.format(what="agent")


class WorkloadOut(BaseModel):
    """`mentions_by_hour_of_week`: mentions received in [from, to) per weekday and hour (organisation's
    time zone), with the average per week; `agents` / `departments`: open and claimed cases now;
    `queue_age`: the open cases now by age bracket."""

    model_config = ConfigDict(populate_by_name=True)

    from_: datetime = Field(alias="from")
    to: datetime
    now: datetime
    timezone: str
    weeks: float
    mentions_by_hour_of_week: list[dict[str, Any]]
    agents: list[dict[str, Any]]
    departments: list[dict[str, Any]]
    queue_age: list[dict[str, Any]]


@router.get("/workload", summary="Workload: mentions per hour of the week, open cases per agent and department, "
                                 "the queue's age", dependencies=[require_role("lead")],
            responses={200: CSV_RESPONSE, **ERRORS}, response_model=WorkloadOut)
def workload_report(request: Request, session: DbSession, from_: From = None, to: To = None,
                    format: Format = None) -> Response | dict[str, Any]:
    """For staffing: the mentions received in [from, to) per hour of the week (168 rows, with the
    average per week), the open (not resolved or closed) and claimed (assigned) cases per agent
    and per department now, and the queue's age profile now. CSV: one table, `section` says which.
    Leads and ops."""
    now = utc_now()
    start, end = report_window(from_, to, now=now)
    workload = read_workload(session, start=start, end=end, now=now, tz=ZoneInfo(request.app.state.settings.timezone))
    if wants_csv(request, format):
        return Response(workload_csv(workload), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="workload-report.csv"'})
    return {"from": iso_z(start), "to": iso_z(end), "now": iso_z(now), **workload.to_json()}
