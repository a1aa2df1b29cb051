"""The incident page: its cases, one reply to all of them, and closing it early."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.cases.models import Case
from app.incidents.models import Incident
from app.incidents.routes import RespondAllIn
from app.incidents.service import close_incident, incident_case_ids, respond_to_incident
from app.kernel.clock import utc_now
from app.rules import RuleSet
from app.ui.deps import UiError, UiUser, check_csrf, in_transaction
from app.ui.i18n import translator
from app.ui.templating import render
from app.web.problems import DomainError

router = APIRouter(prefix="/ui", include_in_schema=False)


def _incident(session: Session, incident_id: int, *, lock: bool = False) -> Incident:
    query = select(Incident).where(Incident.id == incident_id)
    incident = session.scalar(query.with_for_update().execution_options(populate_existing=True) if lock else query)
    if incident is None:
        raise UiError(404, "error.not_found", "incident.none")
    return incident


def _page(session: Session, incident: Incident) -> dict[str, Any]:
    ids = incident_case_ids(session, incident.id)
    cases = list(session.scalars(select(Case).where(Case.id.in_(ids)).order_by(Case.id))) if ids else []
    return {"incident": incident, "cases": cases}


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
async def incident_page(request: Request, incident_id: int, info: UiUser, responded: int | None = None,
                        skipped: int | None = None, done: str | None = None) -> Response:
    data = await in_transaction(request, lambda s: _page(s, _incident(s, incident_id)))
    t = translator(info.language)
    outcomes = {"responded": responded, "skipped": skipped or 0} if responded is not None else None
    flash = t("incident.closed_done") if done == "closed" else None
    return render(request, info, "incident.html", {**data, "outcomes": outcomes, "flash": flash}, t=t)


@router.post("/incidents/{incident_id}/respond")
async def incident_respond(request: Request, incident_id: int, info: UiUser) -> Response:
    """One reply to every case of the incident (as `POST /api/v1/incidents/{id}/respond`)."""
    form = await request.form()
    check_csrf(info, form.get("csrf_token"))
    ruleset: RuleSet = request.app.state.rules.current
    t = translator(info.language)
    text = form.get("text")
    try:
        body = RespondAllIn(text=text.strip() if isinstance(text, str) else "", send=form.get("send") == "1")
    except ValidationError:
        data = await in_transaction(request, lambda s: _page(s, _incident(s, incident_id)))
        return render(request, info, "incident.html", {**data, "outcomes": None, "error": t("incident.text_needed")},
                      status_code=422, t=t)

    def work(session: Session) -> tuple[int, int]:
        incident = _incident(session, incident_id, lock=True)
        outcomes = respond_to_incident(session, incident, text=body.text, send=body.send, principal=info.principal,
                                       ruleset=ruleset, now=utc_now())
        responded = sum(1 for o in outcomes if o["outcome"] == "responded")
        return responded, len(outcomes) - responded

    responded, skipped = await in_transaction(request, work)
    return RedirectResponse(f"/ui/incidents/{incident_id}?responded={responded}&skipped={skipped}", status_code=303)


@router.post("/incidents/{incident_id}/close")
async def incident_close(request: Request, incident_id: int, info: UiUser) -> Response:
    """Close the incident now (as `POST /api/v1/incidents/{id}/close`); a closed one says so."""
    form = await request.form()
    check_csrf(info, form.get("csrf_token"))
    ruleset: RuleSet = request.app.state.rules.current
    t = translator(info.language)

    def work(session: Session) -> dict[str, Any] | None:
        incident = _incident(session, incident_id, lock=True)
        try:
            close_incident(session, incident, by=info.principal.name, ruleset=ruleset, now=utc_now())
        except DomainError:
            return _page(session, incident)
        return None

    refused = await in_transaction(request, work)
    if refused is not None:
        return render(request, info, "incident.html",
                      {**refused, "outcomes": None, "error": t("incident.closed_already")}, status_code=409, t=t)
    return RedirectResponse(f"/ui/incidents/{incident_id}?done=closed", status_code=303)
