"""The shell of an API request that changes one case: the case locked, the key honoured."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session

from app.auth.service import Principal
from app.cases.locking import lock_visible_case
from app.cases.models import Case
from app.kernel.clock import utc_now
from app.observability import bind_case
from app.web.idempotency import request_fingerprint, run_idempotent
from app.web.problems import NotFound


def run_case_request(session: Session, principal: Principal, ref: str, request: Request, payload: dict[str, Any],
                     key: str | None, act: Callable[[Case, datetime], Any]) -> Any:
    """Lock the case `ref` that `principal` may see (404 problem otherwise), then run `act(case, now)`
    once per Idempotency-Key `key` (a repeat answers the stored result; the same key with another
    body is refused). The caller's transaction holds the lock until its commit."""
    case = lock_visible_case(session, principal, ref)
    if case is None:
        raise NotFound(f"no case {ref}")
    bind_case(case.ref)
    now = utc_now()
    return run_idempotent(session, key=key, principal=principal, now=now, act=lambda: act(case, now),
                          fingerprint=request_fingerprint("POST", request.url.path, payload))
