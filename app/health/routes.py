"""Liveness and readiness for operators."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness")
def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness", responses={503: {"description": "Not ready"}})
def readyz(request: Request) -> Any:
    """Ready when the database answers and a rule set is loaded. A refused reload does not make the
    process unready (the running set keeps serving): `checks.rules_reload` says `failed` and
    `rules_last_error` lists the refusal's problems as `path:line:col: error: message`."""
    checks: dict[str, str] = {}
    try:
        with request.app.state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except SQLAlchemyError:
        checks["database"] = "unreachable"
    holder = getattr(request.app.state, "rules", None)
    checks["rules"] = holder.current.version if holder is not None else "not loaded"
    body: dict[str, Any] = {"checks": checks}
    if holder is not None:
        checks["rules_reload"] = "ok" if holder.status.successful else "failed"
        if not holder.status.successful:
            body["rules_last_error"] = list(holder.status.errors)
    ready = checks["database"] == "ok" and holder is not None
    return JSONResponse({"status": "ready" if ready else "not ready", **body}, status_code=200 if ready else 503)
