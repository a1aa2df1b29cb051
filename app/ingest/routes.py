"""`POST /webhooks/{connector}`: the one ingestion point for every platform and listening tool."""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import IntegrityError

from app.db import transaction
from app.delivery.signing import SignatureError, verify_payload
from app.ingest.service import IngestResult, ingest_mentions
from app.ingest.standard import MAX_BODY_BYTES, FormatError, parse_standard_body
from app.mentions.schema import utc_now
from app.rules import RuleSet
from app.web.problems import (
    InvalidSignature,
    PayloadTooLarge,
    UnknownConnector,
    UnsupportedConnectorKind,
    ValidationProblem,
)

log = logging.getLogger(__name__)
router = APIRouter(tags=["webhooks"])

INGEST_ATTEMPTS = 3

WEBHOOK_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "Bad or missing signature; nothing was stored"},
    404: {"description": "Unknown connector"},
    413: {"description": "Body over the limit"},
    422: {"description": "The body breaks the format (problem JSON with `errors`)"},
    503: {"description": "Database unreachable; retry"},
}


async def read_limited_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit` bytes, whatever the
    Content-Length says (chunked bodies have none, and a client may lie)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the limit is {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the limit is {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/webhooks/{connector}", responses=WEBHOOK_RESPONSES, summary="Deliver mentions")
async def receive_webhook(connector: str, request: Request) -> dict[str, Any]:
    """Verify, store and route the mentions of one delivery; answers only after the commit."""
    ruleset: RuleSet = request.app.state.rules.current
    config = ruleset.connectors.get(connector)
    if config is None:
        raise UnknownConnector(f"no connector named {connector!r}")
    if config.kind != "standard":
        raise UnsupportedConnectorKind(f"connector kind {config.kind!r} has no adapter yet")
    body = await read_limited_body(request, MAX_BODY_BYTES)
    secret = request.app.state.secrets.get(config.secret_env, webhook=True)
    try:
        verify_payload([secret], {k.lower(): v for k, v in request.headers.items()}, body, now=int(time.time()))
    except SignatureError as exc:
        raise InvalidSignature(str(exc)) from exc
    try:
        items = parse_standard_body(body)
    except FormatError as exc:
        raise ValidationProblem(exc.errors) from exc
    result = await run_in_threadpool(_ingest, request, ruleset, connector, items)
    log.info("ingested", extra={"connector": connector, "accepted": result.accepted,
                                "duplicates": result.duplicates, "cases": result.cases})
    return result.to_json()


def _ingest(request: Request, ruleset: RuleSet, connector: str, items: list[Any]) -> IngestResult:
    """One transaction; a unique-key race with a concurrent delivery of the same mention is retried,
    and the retry sees that mention as a duplicate."""
    for attempt in range(INGEST_ATTEMPTS):
        try:
            with transaction(request.app.state.sessions) as session:
                return ingest_mentions(session, ruleset=ruleset, connector=connector, items=items,
                                       received_at=utc_now())
        except IntegrityError:
            if attempt == INGEST_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")
