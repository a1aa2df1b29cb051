"""`POST /webhooks/{connector}`: the one ingestion point for every platform and listening tool."""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy.exc import IntegrityError

from app.db import transaction
from app.delivery.signing import SignatureError, verify_payload
from app.ingest.adapters import PLATFORM_KINDS, Parsed, parse_platform_body
from app.ingest.body import platform_body_check, read_body
from app.ingest.dead_letters import keep_dead_letter
from app.ingest.service import IngestResult, ingest_mentions
from app.ingest.standard import FormatError, parse_standard_body
from app.ingest.verification import VerificationError, meta_challenge, x_crc_response
from app.kernel.clock import utc_now
from app.metrics.counters import CLASSIFY_SECONDS, count_mentions
from app.rules import RuleSet
from app.rules.model import Connector
from app.secrets import SecretStore
from app.web.problems import (
    Forbidden,
    InvalidInput,
    InvalidParameter,
    InvalidSignature,
    Problem,
    UnknownConnector,
    UnsupportedConnectorKind,
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
HANDSHAKE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Meta: the `hub.challenge` as plain text; X: `{\"response_token\": \"sha256=...\"}`",
          "content": {"text/plain": {}, "application/json": {}}},
    400: {"description": "X: `crc_token` missing or not shaped as X sends it (nothing is signed)"},
    403: {"description": "Meta: wrong verify token or mode"},
    404: {"description": "Unknown connector"},
    405: {"description": "This connector kind has no handshake"},
}


class NoHandshake(Problem):
    status, slug, title = 405, "method-not-allowed", "This connector kind has no GET handshake"


@router.post("/webhooks/{connector}", responses=WEBHOOK_RESPONSES, summary="Deliver mentions")
async def receive_webhook(connector: str, request: Request) -> dict[str, Any]:
    """Verify, store and route the mentions of one delivery; answers only after the commit."""
    ruleset: RuleSet = request.app.state.rules.current
    config = ruleset.connectors.get(connector)
    if config is None:
        raise UnknownConnector(f"no connector named {connector!r}")
    if config.kind in PLATFORM_KINDS:
        return await _receive_platform(request, ruleset, config)
    if config.kind != "standard":
        raise UnsupportedConnectorKind(f"connector kind {config.kind!r} has no adapter")
    body = await read_body(request)
    secret = request.app.state.secrets.get(config.secret_env, webhook=True)
    try:
        verify_payload([secret], {k.lower(): v for k, v in request.headers.items()}, body, now=int(time.time()))
    except SignatureError as exc:
        raise InvalidSignature(str(exc)) from exc
    try:
        items = parse_standard_body(body)
    except FormatError as exc:
        raise InvalidInput(exc.errors) from exc
    result = await run_in_threadpool(_ingest, request, ruleset, connector, items)
    log.info("ingested", extra={"connector": connector, "accepted": result.accepted,
                                "duplicates": result.duplicates, "cases": result.cases})
    return result.to_json()


@router.get("/webhooks/{connector}", responses=HANDSHAKE_RESPONSES, summary="Platform handshake",
            response_model=None)
async def webhook_handshake(connector: str, request: Request) -> PlainTextResponse | JSONResponse:
    """Meta and WhatsApp subscription check (`hub.challenge` echoed when `hub.verify_token`
    matches, else 403); X challenge-response check (`crc_token`)."""
    config = request.app.state.rules.current.connectors.get(connector)
    if config is None:
        raise UnknownConnector(f"no connector named {connector!r}")
    secrets: SecretStore = request.app.state.secrets
    params = dict(request.query_params)
    if config.kind in ("meta", "whatsapp") and config.verify_token_env:
        try:
            return PlainTextResponse(meta_challenge(secrets.get(config.verify_token_env), params))
        except VerificationError as exc:
            raise Forbidden(str(exc)) from exc
    if config.kind == "x" and config.consumer_secret_env:
        try:
            return JSONResponse(x_crc_response(secrets.get(config.consumer_secret_env), params.get("crc_token", "")))
        except VerificationError as exc:
            raise InvalidParameter([{"field": "crc_token", "message": str(exc)}]) from exc
    raise NoHandshake(f"connector kind {config.kind!r} has no handshake")


async def _receive_platform(request: Request, ruleset: RuleSet, config: Connector) -> dict[str, Any]:
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        check = platform_body_check(config, request.app.state.secrets, headers)
        body = await read_body(request, check)
    except VerificationError as exc:
        raise InvalidSignature(str(exc)) from exc
    parsed = parse_platform_body(config, body)
    result = await run_in_threadpool(_ingest, request, ruleset, config.name, parsed.items,
                                     (config, body, parsed, headers.get("content-type")))
    log.info("ingested", extra={"connector": config.name, "accepted": result.accepted, "updated": result.updated,
                                "ignored": result.ignored, "dead_lettered": result.dead_lettered,
                                "duplicates": result.duplicates, "cases": result.cases})
    return result.to_json()


def _ingest(request: Request, ruleset: RuleSet, connector: str, items: list[Any],
            dead: tuple[Connector, bytes, Parsed, str | None] | None = None) -> IngestResult:
    """One transaction; a unique-key race with a concurrent delivery of the same mention is retried,
    and the retry sees that mention as a duplicate. Parts of an authentic body that did not parse
    are kept as one inbound dead letter in the same transaction."""
    for attempt in range(INGEST_ATTEMPTS):
        try:
            with transaction(request.app.state.sessions) as session:
                now = utc_now()
                result = ingest_mentions(session, ruleset=ruleset, connector=connector, items=items,
                                         received_at=now)
                if dead is not None and dead[2].failures:
                    config, body, parsed, content_type = dead
                    keep_dead_letter(session, connector=config.name, kind=config.kind, body=body,
                                     failures=parsed.failures, content_type=content_type, now=now)
                    result.dead_lettered = len(parsed.failures)
            request.app.state.rule_hits.add(result.decisions)  # committed: the mentions count
            count_mentions(connector, [*result.outcomes, *[("", "dead_lettered")] * result.dead_lettered])
            for seconds in result.classify_seconds:
                CLASSIFY_SECONDS.observe(seconds)
            return result
        except IntegrityError:
            if attempt == INGEST_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")
