"""`/api/v1/rules`: the active rule set, reloading it, and explaining a mention."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import AwareDatetime, BaseModel

from app.mentions.schema import MentionIn, utc_now
from app.rules import explain
from app.web.deps import ActiveRuleSet, require_role
from app.web.problems import RuleSetInvalid

router = APIRouter(prefix="/api/v1/rules", tags=["rules"])


class ExplainIn(BaseModel):
    """A mention to explain, as normalised JSON; `now` defaults to the current time."""

    mention: MentionIn
    connector: str | None = None
    now: AwareDatetime | None = None


@router.get("", summary="The active rule set", dependencies=[require_role("ops")])
def get_rules(ruleset: ActiveRuleSet) -> dict[str, Any]:
    """Version, files read and counts of the active rule set."""
    return ruleset.summary()


@router.post("/reload", summary="Reload routing_rules/", dependencies=[require_role("ops")],
             responses={422: {"description": "The folder has errors; the active set is unchanged"}})
def reload_rules(request: Request) -> dict[str, Any]:
    """Load the folder again and make it active, unless it has errors (then 422 listing them all)."""
    swapped, problems = request.app.state.rules.reload()
    if not swapped:
        raise RuleSetInvalid(errors=[{"field": f"{p.path}:{p.line}:{p.col}", "message": p.message}
                                     for p in problems if p.severity == "error"])
    summary: dict[str, Any] = request.app.state.rules.current.summary()
    summary["warnings"] = [str(p) for p in problems]
    return summary


@router.post("/explain", summary="Explain how a mention would be routed",
             dependencies=[require_role("agent")])
def explain_mention(body: ExplainIn, ruleset: ActiveRuleSet) -> dict[str, Any]:
    """The decision and, rule by rule, matched / first failing condition / not evaluated."""
    now: datetime = body.now or utc_now()
    result: dict[str, Any] = explain(ruleset, body.mention.to_mention(), now, connector=body.connector).to_json()
    return result


