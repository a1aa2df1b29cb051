"""`POST /ui/bulk`: one action on the cases selected in the queue (see `app.ui.bulk`)."""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.kernel.clock import utc_now
from app.rules import RuleSet
from app.ui.bulk import BULK_ACTIONS, BulkResult, act_on_one, problem_text, selected_refs
from app.ui.deps import UiError, UiUser, check_csrf, in_transaction
from app.ui.i18n import translator
from app.ui.routes_case import ACTION_MODELS, validated_params
from app.ui.templating import render

router = APIRouter(prefix="/ui", include_in_schema=False)


def queue_back(value: object) -> str:
    """Where "back to the queue" leads: the queue URL the form came from, else the plain queue."""
    if isinstance(value, str) and value.startswith("/ui/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/ui/"


@router.post("/bulk")
async def bulk_action(request: Request, info: UiUser) -> Response:
    """Carry out the chosen action on every selected case, one transaction and case lock each, and
    show what became of each (200; 422 when the action's fields are invalid or nothing was selected)."""
    form = await request.form()
    check_csrf(info, form.get("csrf_token"))
    t = translator(info.language)
    action = str(form.get("action") or "")
    if action not in BULK_ACTIONS:
        raise UiError(422, "bulk.title", "bulk.unknown_action")
    back = queue_back(form.get("next"))
    context: dict[str, Any] = {"nav": "queue", "action": action, "back": back, "results": []}
    try:
        refs = selected_refs(form.getlist("ref"))
    except ValueError as exc:
        return render(request, info, "bulk.html", {**context, "error": str(exc)}, status_code=422, t=t)
    params, problem = validated_params(ACTION_MODELS[action], action, form)
    if not refs or problem is not None:
        error = problem_text(problem) if problem is not None else t("bulk.none_selected")
        return render(request, info, "bulk.html", {**context, "error": error}, status_code=422, t=t)
    ruleset: RuleSet = request.app.state.rules.current
    results: list[BulkResult] = []
    for ref in refs:  # each case in its own transaction: one refusal never undoes the others
        results.append(await in_transaction(request, partial(_one, ref=ref, action=action, params=params,
                                                             info=info, ruleset=ruleset)))
    done = sum(r.done for r in results)
    flash = t("bulk.summary", done=done, total=len(results), action=t("bulk.action." + action))
    return render(request, info, "bulk.html", {**context, "results": results, "flash": flash}, t=t)


def _one(session: Session, *, ref: str, action: str, params: dict[str, Any], info: Any,
         ruleset: RuleSet) -> BulkResult:
    return act_on_one(session, ref, action, params, principal=info.principal, ruleset=ruleset, now=utc_now())
