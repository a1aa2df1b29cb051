"""`Idempotency-Key` on every `/api/v1` POST, stored in the same transaction as the action.

The key is scoped to the caller (token, or UI session) and kept 24 hours. The same key with the
same request answers the stored response again without acting; with another request it is 422.
Two requests with one key at the same moment: one acts, the other is answered 409
(`idempotency-key-in-use`) with nothing done, and repeating it then answers the stored response.
Expired keys are deleted by `app.housekeeping` on a schedule.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from fastapi.responses import JSONResponse
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.auth.models import IdempotencyKey
from app.auth.service import Principal
from app.web.problems import IdempotencyKeyInUse, IdempotencyKeyReused, InvalidInput

RETENTION = timedelta(hours=24)
MAX_KEY_LENGTH = 255


def request_fingerprint(method: str, path: str, body: Any) -> str:
    """SHA-256 over the method, path and canonical JSON body."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def owner_of(principal: Principal) -> str:
    if principal.token_id is not None:
        return f"token:{principal.token_id}"
    return f"{principal.kind}:{principal.name}"


def stored_answer(session: Session, *, key: str | None, principal: Principal, fingerprint: str,
                  now: datetime) -> JSONResponse | None:
    """The answer stored for `key` (None without a key, or when none is stored or it expired),
    reading only: for a request that must do slow outside work before it writes anything. Raises
    for a malformed key or one sent before with another request."""
    if key is None:
        return None
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidInput([{"field": "Idempotency-Key", "message": f"1 to {MAX_KEY_LENGTH} characters"}])
    stored = session.scalar(select(IdempotencyKey).where(IdempotencyKey.owner == owner_of(principal),
                                                         IdempotencyKey.key == key,
                                                         IdempotencyKey.created_at >= now - RETENTION))
    if stored is None:
        return None
    if stored.request_hash != fingerprint:
        raise IdempotencyKeyReused("this Idempotency-Key was sent before with another request")
    return JSONResponse(stored.response["body"], status_code=stored.status_code,
                        headers={"Idempotent-Replayed": "true"})


def run_idempotent(session: Session, *, key: str | None, principal: Principal, fingerprint: str,
                   now: datetime, act: Callable[[], Any]) -> Any:
    """Run `act()` once per key: without a key, just run it. The stored answer is the JSON of what
    `act` returned (pydantic models are dumped)."""
    if key is None:
        return act()
    owner = owner_of(principal)
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.owner == owner, IdempotencyKey.key == key,
                                                 IdempotencyKey.created_at < now - RETENTION))
    stored = stored_answer(session, key=key, principal=principal, fingerprint=fingerprint, now=now)
    if stored is not None:
        return stored
    result = act()
    body = result.model_dump(mode="json") if hasattr(result, "model_dump") else result
    try:
        with session.begin_nested():  # the key stored by a concurrent request fails only this insert
            session.add(IdempotencyKey(owner=owner, key=key, request_hash=fingerprint, status_code=200,
                                       response={"body": body}, created_at=now))
    except IntegrityError as exc:
        # Raised, so the request's transaction rolls back what `act` did: the other request acted.
        raise IdempotencyKeyInUse("a request with this Idempotency-Key was handled at the same time; "
                                  "send it again to get that request's answer") from exc
    return result
