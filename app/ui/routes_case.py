"""The case page, its action forms and its live event stream."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.cases.action_routes import (
    AssignIn,
    CloseIn,
    Empty,
    HandoffIn,
    MergeIn,
    NotesIn,
    PriorityIn,
    ReopenIn,
    ResolveIn,
    RespondIn,
    TagIn,
)
from app.cases.actions import ActionRequest, perform_action
from app.cases.locking import lock_visible_case
from app.cases.queries import get_visible_case
from app.cases.schemas import SuggestDepartment
from app.kernel.clock import utc_now
from app.replies.service import why_cannot_send
from app.rules import RuleSet
from app.ui.bulk import problem_text
from app.ui.casepage import CaseView, build_case_view
from app.ui.deps import UiError, UiUser, check_csrf, in_transaction, session_alive
from app.ui.i18n import translator
from app.ui.live import broadcaster_for
from app.ui.reads import mark_seen
from app.ui.routes_queue import KEEPALIVE_SECONDS, MAX_STREAM_SECONDS, MIN_BATCH_INTERVAL, sse
from app.ui.sessions import SessionInfo
from app.ui.templating import base_context, render, render_fragment
from app.web.problems import DomainError, InvalidInput, Problem, problem_of

router = APIRouter(prefix="/ui", include_in_schema=False)

# The agent actions of SPEC §2 and the API's own body models, so the UI validates exactly like the API.
ACTION_MODELS: dict[str, type[BaseModel]] = {
    "claim": Empty, "assign": AssignIn, "priority": PriorityIn, "respond": RespondIn, "notes": NotesIn,
    "handoff": HandoffIn, "pending-customer": Empty, "resume": Empty, "resolve": ResolveIn, "close": CloseIn,
    "reopen": ReopenIn, "merge": MergeIn, "tag": TagIn,
}
SECTIONS = ("summary", "thread", "composer", "timeline", "actions", "sla", "author", "routing")


def form_params(action: str, form: FormData) -> dict[str, Any]:
    """The action's JSON body from its HTML form (empty optional fields are left out)."""
    def text(name: str) -> str | None:
        value = form.get(name)
        return value.strip() if isinstance(value, str) and value.strip() else None

    if action == "respond":
        return {"text": text("text") or "", "send": form.get("send") is not None}
    if action == "merge":
        return {"into": (text("into") or "").upper()}
    if action == "tag":  # "outage, vip" or "outage vip"
        return {"tags": list(dict.fromkeys((text("tags") or "").replace(",", " ").split()))}
    fields = {"assign": ("user",), "priority": ("priority",), "notes": ("text",), "handoff": ("department", "reason"),
              "resolve": ("resolution",), "close": ("reason",), "reopen": ("reason",)}.get(action, ())
    return {name: value for name in fields if (value := text(name)) is not None}


def validated_params(model: type[BaseModel], action: str, form: FormData) -> tuple[dict[str, Any], Problem | None]:
    """The action's body from its form, checked by the API's own model: (params, None), or ({}, the
    422 problem naming each invalid field)."""
    try:
        return model.model_validate(form_params(action, form)).model_dump(), None
    except ValidationError as exc:
        return {}, problem_of(InvalidInput([{"field": ".".join(map(str, e["loc"])), "message": e["msg"]}
                                            for e in exc.errors()]))


def done_key(action: str, params: dict[str, Any], send_refusal: str | None) -> str:
    """The confirmation shown after `action`: a reply says whether it is on its way, or only
    recorded because the connector cannot post replies (never a bare "recorded" for that)."""
    if action != "respond" or not params.get("send"):
        return action
    return "respond-unsendable" if send_refusal else "respond-queued"


def _context(request: Request, info: SessionInfo, view: CaseView, **extra: Any) -> dict[str, Any]:
    back = request.query_params.get("back", "")
    return {"v": view, "nav": "queue", "back_query": back if back.startswith("?") else "", **extra}


def suggester(request: Request) -> SuggestDepartment | None:
    """The app's suggested-department function (None in an app without one)."""
    found: SuggestDepartment | None = getattr(request.app.state, "suggest_department", None)
    return found


def _load_view(session: Session, info: SessionInfo, ref: str, ruleset: RuleSet,
               suggest: SuggestDepartment | None = None) -> CaseView:
    """The case page for `info`'s user, who has now seen it (its unread marker goes)."""
    case = get_visible_case(session, info.principal, ref)
    if case is None:
        raise UiError(404, "error.not_found", "error.no_case")
    now = utc_now()
    mark_seen(session, info.user_id, case.id, now=now)
    return build_case_view(session, case, principal=info.principal, ruleset=ruleset, now=now, suggest=suggest)


@router.get("/cases/{ref}", response_class=HTMLResponse)
async def case_page(request: Request, ref: str, info: UiUser, done: str | None = None) -> Response:
    ruleset: RuleSet = request.app.state.rules.current
    view = await in_transaction(request, lambda s: _load_view(s, info, ref.upper(), ruleset, suggester(request)))
    t = translator(info.language)
    flash = t.optional(f"done.{done}", "") or None if done else None
    return render(request, info, "case.html", _context(request, info, view, flash=flash), t=t)


@router.post("/cases/{ref}/act/{action}")
async def case_action(request: Request, ref: str, action: str, info: UiUser) -> Response:
    """Carry out one action from its form, then back to the case (or to the queue it came from).
    A refused action shows the case again with the reason (409, 403 or 422)."""
    form = await request.form()
    check_csrf(info, form.get("csrf_token"))
    model = ACTION_MODELS.get(action)
    if model is None:
        raise UiError(404, "error.not_found", "error.no_case")
    ruleset: RuleSet = request.app.state.rules.current
    t = translator(info.language)
    params, problem = validated_params(model, action, form)

    def work(session: Session) -> tuple[str, CaseView | None, Problem | None, str]:
        case = lock_visible_case(session, info.principal, ref.upper())
        if case is None:
            raise UiError(404, "error.not_found", "error.no_case")
        failure = problem
        if failure is None:
            try:
                with session.begin_nested():
                    perform_action(session, case, ActionRequest(action, params), principal=info.principal,
                                   ruleset=ruleset, now=utc_now())
            except DomainError as exc:
                failure = problem_of(exc)
        view = build_case_view(session, case, principal=info.principal, ruleset=ruleset,
                               suggest=suggester(request)) if failure else None
        return case.ref, view, failure, done_key(action, params, why_cannot_send(ruleset, case.connector))

    case_ref, view, failure, done = await in_transaction(request, work)
    if failure is not None and view is not None:
        message = problem_text(failure)
        return render(request, info, "case.html", _context(request, info, view, error=message),
                      status_code=failure.status, t=t)
    back = form.get("next")
    if isinstance(back, str) and back.startswith("/ui/") and not back.startswith("//"):
        return RedirectResponse(back, status_code=303)
    return RedirectResponse(f"/ui/cases/{case_ref}?done={done}", status_code=303)


@router.get("/live/case/{ref}")
async def live_case(request: Request, ref: str, info: UiUser) -> StreamingResponse:
    """Server-sent events for one case page: a `case` event with every section re-rendered, on
    connect and whenever the case changes (the browser keeps a half-written form)."""
    ruleset: RuleSet = request.app.state.rules.current
    context = base_context(request, info, translator(info.language))
    broadcaster = broadcaster_for(request.app.state)
    subscription = broadcaster.subscribe()

    def sections(session: Session) -> tuple[int, dict[str, Any]]:
        view = _load_view(session, info, ref.upper(), ruleset, suggester(request))
        local = {**context, **_context(request, info, view)}
        html = {name: render_fragment(f"_case_{name}.html", local) for name in SECTIONS}
        return view.case.id, {"sections": html, "allowed": " ".join(view.allowed), "status": view.case.status}

    async def events() -> AsyncIterator[str]:
        started = time.monotonic()
        try:
            yield "retry: 2000\n\n"
            case_id, payload = await in_transaction(request, sections)
            yield sse("case", payload)
            while time.monotonic() - started < MAX_STREAM_SECONDS and not subscription.closed:
                batch = await subscription.next_batch(KEEPALIVE_SECONDS)
                if not await session_alive(request, info):
                    yield sse("gone", {})
                    return
                if batch is not None and not batch:
                    yield ": keepalive\n\n"
                    continue
                if batch is None or case_id in batch:
                    _, payload = await in_transaction(request, sections)
                    yield sse("case", payload)
                    await asyncio.sleep(MIN_BATCH_INTERVAL)
        except UiError:
            yield sse("gone", {})
        finally:
            broadcaster.unsubscribe(subscription)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
