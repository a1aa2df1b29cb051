"""Webhook bodies: how large each connector's may be, and reading one while its signature is checked.

The limits themselves are enforced on the stream by `app.web.body_limit.BodyLimitMiddleware`
(wired in `app.main`); a handler that reads a body here never sees more than its limit.
"""

from __future__ import annotations

from fastapi import Request

from app.ingest.adapters import PLATFORM_KINDS
from app.ingest.standard import MAX_BODY_BYTES as STANDARD_MAX_BODY_BYTES
from app.ingest.verification import (
    BodyCheck,
    VerificationError,
    meta_body_check,
    verify_telegram_token,
    x_body_check,
)
from app.rules.model import Connector
from app.secrets import SecretStore

# Platform deliveries are a few KiB (a batch of 1000 Meta updates stays far below this); a connector
# may raise or lower it with `max_body_bytes` in connectors.yaml.
PLATFORM_MAX_BODY_BYTES = 2 * 1024 * 1024


def webhook_body_limit(connector: Connector | None, default: int) -> int:
    """The largest body `POST /webhooks/{connector}` accepts: 1 MiB for `standard` connectors (the
    format's rule), the connector's `max_body_bytes` or 2 MiB for platform kinds, `default` for a
    name that is no connector (answered 404 anyway)."""
    if connector is None:
        return default
    if connector.kind in PLATFORM_KINDS:
        return connector.max_body_bytes or PLATFORM_MAX_BODY_BYTES
    return STANDARD_MAX_BODY_BYTES


def platform_body_check(config: Connector, secrets: SecretStore, headers: dict[str, str]) -> BodyCheck:
    """The signature (or secret-token) check of `config`'s kind, ready to take the body. Raises
    VerificationError before any of the body is read when the header it needs is missing or wrong."""
    if config.kind in ("meta", "whatsapp") and config.app_secret_env:
        return meta_body_check(secrets.get(config.app_secret_env), headers)
    if config.kind == "x" and config.consumer_secret_env:
        return x_body_check(secrets.get(config.consumer_secret_env), headers)
    if config.kind == "telegram" and config.secret_token_env:
        return verify_telegram_token(secrets.get(config.secret_token_env), headers)
    raise VerificationError(f"connector {config.name!r} names no secret to verify with")


async def read_body(request: Request, check: BodyCheck | None = None) -> bytes:
    """The request body. With `check`, each chunk goes to it as it arrives and the chunks are
    joined into one body only once `check.verify()` has passed (VerificationError otherwise): a
    forged body is never held twice, only its chunks until the signature fails."""
    chunks = []
    async for chunk in request.stream():
        if check is not None:
            check.update(chunk)
        chunks.append(chunk)
    if check is not None:
        check.verify()
    body = b"".join(chunks)
    chunks.clear()
    return body
