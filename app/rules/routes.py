"""`/api/v1/rules`: the active rule set, reloading it, and explaining a mention."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from pydantic import AwareDatetime, BaseModel, Field

from app.audit import record
from app.auth.service import Principal
from app.kernel.clock import utc_now
from app.mentions.schema import MentionIn
from app.rules import explain
from app.rules.hits import HitCount, read_hits
from app.rules.holder import reload_facts
from app.rules.processes import live_processes, request_reload
from app.web.deps import ActiveRuleSet, DbSession, require_role
from app.web.idempotency import request_fingerprint, run_idempotent
from app.web.problems import RuleSetInvalid

router = APIRouter(prefix="/api/v1/rules", tags=["rules"])

IdempotencyKeyHeader = Annotated[str | None, Header(alias="Idempotency-Key")]


class ExplainMentionIn(MentionIn):
    """A normalised mention whose `id` may be left out: an explanation stores nothing."""

    id: Annotated[str, Field(min_length=1, max_length=200)] = "explain"


class ExplainIn(BaseModel):
    """A mention to explain, as normalised JSON (`id` optional); `now` defaults to the current time."""

    mention: ExplainMentionIn
    connector: str | None = None
    now: AwareDatetime | None = None


@router.get("", summary="The active rule set", dependencies=[require_role("ops")])
def get_rules(request: Request, ruleset: ActiveRuleSet, session: DbSession) -> dict[str, Any]:
    """Version, files read and counts of the active rule set; how this process's last reload went
    (`reload.errors` holds the last refusal's problems); the live processes with the version each
    runs and whether they all agree; and per rule the mentions it matched and decided (all processes)."""
    now = utc_now()
    processes = live_processes(session, now=now)
    totals = read_hits(session)
    summary = ruleset.summary()
    summary["process"] = request.app.state.process_id
    summary["reload"] = request.app.state.rules.status.to_json()
    summary["processes"] = processes
    summary["versions_agree"] = {p["version"] for p in processes} <= {ruleset.version}
    summary["hits"] = [hit_json(rule.id, *totals.get(rule.id, (HitCount(), None))) for rule in ruleset.rules]
    return summary


def hit_json(rule_id: str, count: HitCount, last_hit_at: datetime | None) -> dict[str, Any]:
    """A rule's totals as the API shows them."""
    return {"rule": rule_id, "matched": count.matched, "decided": count.decided,
            "last_hit_at": last_hit_at.isoformat() if last_hit_at else None}


@router.post("/reload", summary="Reload routing_rules/",
             responses={422: {"description": "The folder has errors; the active set is unchanged"}})
def reload_rules(request: Request, session: DbSession, principal: Annotated[Principal, require_role("ops")],
                 idempotency_key: IdempotencyKeyHeader = None) -> dict[str, Any]:
    """Load, validate and test the folder again and make it active, then ask every other process to
    do the same (through the database); when the folder has errors or a folder test fails, 422
    lists them all and the running set stays (in every process). A reload that went through is
    audited as `rules.reloaded` (even when the version did not change: ops asked)."""
    state = request.app.state

    def act() -> dict[str, Any]:
        before = state.rules.current
        swapped, problems = state.rules.reload(now=utc_now(), trigger="POST /api/v1/rules/reload")
        if state.rules_runtime is not None:
            state.rules_runtime.report_soon()
        if not swapped:
            raise RuleSetInvalid(errors=[{"field": f"{p.path}:{p.line}:{p.col}", "message": p.message}
                                         for p in problems if p.severity == "error"])
        request_reload(session, process_id=state.process_id, now=utc_now())
        record(session, principal, "rules.reloaded", "rules",
               reload_facts(before, state.rules.current, "POST /api/v1/rules/reload"), utc_now())
        summary: dict[str, Any] = state.rules.current.summary()
        summary["warnings"] = [str(p) for p in problems]
        return summary

    result: dict[str, Any] = run_idempotent(session, key=idempotency_key, principal=principal, now=utc_now(),
                                            fingerprint=request_fingerprint("POST", request.url.path, None), act=act)
    return result


@router.post("/explain", summary="Explain how a mention would be routed")
def explain_mention(body: ExplainIn, request: Request, ruleset: ActiveRuleSet, session: DbSession,
                    principal: Annotated[Principal, require_role("agent")],
                    idempotency_key: IdempotencyKeyHeader = None) -> dict[str, Any]:
    """The decision and, rule by rule, matched / first failing condition / not evaluated."""
    now: datetime = body.now or utc_now()

    def act() -> dict[str, Any]:
        return explain(ruleset, body.mention.to_mention(), now, connector=body.connector).to_json()

    result: dict[str, Any] = run_idempotent(
        session, key=idempotency_key, principal=principal, now=utc_now(), act=act,
        fingerprint=request_fingerprint("POST", request.url.path, body.model_dump(mode="json")))
    return result


