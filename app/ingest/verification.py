"""Per-kind webhook authentication: signature checks on every POST and the platforms' handshakes.

Pure functions over bytes and strings. Every comparison of a secret-derived value is constant-time
(`hmac.compare_digest`), so the time taken does not reveal how much of a forged value was right.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping

# X sends a short random token of base64 or base64url characters (48 of them in practice).
CRC_TOKEN_MAX_LENGTH = 128
_CRC_TOKEN = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")


class VerificationError(ValueError):
    """A missing or wrong signature, token or handshake parameter; the body must be stored nowhere."""


def hub_signature(app_secret: str, body: bytes) -> str:
    """Meta's `X-Hub-Signature-256` value: `sha256=` + lowercase hex HMAC-SHA256(app secret, body)."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def verify_meta_signature(app_secret: str, headers: Mapping[str, str], body: bytes) -> None:
    """Check `X-Hub-Signature-256` over the raw bytes as received (Meta escapes non-ASCII as
    `\\uXXXX`, so re-serialised JSON would not match). Raises VerificationError."""
    offered = headers.get("x-hub-signature-256", "")
    if not offered.startswith("sha256="):
        raise VerificationError("X-Hub-Signature-256 is missing")
    expected = hub_signature(app_secret, body)
    if not hmac.compare_digest(expected.encode(), offered.strip().lower().encode()):
        raise VerificationError("X-Hub-Signature-256 does not match the body")


def x_signature(consumer_secret: str, message: bytes) -> str:
    """`sha256=` + base64 HMAC-SHA256(consumer secret, message): X's signature and CRC answer."""
    digest = hmac.new(consumer_secret.encode(), message, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def verify_x_signature(consumer_secret: str, headers: Mapping[str, str], body: bytes) -> None:
    """Check `x-twitter-webhooks-signature` (base64, not hex) over the raw body."""
    offered = headers.get("x-twitter-webhooks-signature", "")
    if not offered.startswith("sha256="):
        raise VerificationError("x-twitter-webhooks-signature is missing")
    if not hmac.compare_digest(x_signature(consumer_secret, body).encode(), offered.strip().encode()):
        raise VerificationError("x-twitter-webhooks-signature does not match the body")


def x_crc_response(consumer_secret: str, crc_token: str) -> dict[str, str]:
    """The answer to X's challenge-response check: `{"response_token": "sha256=<base64>"}`.

    The answer is the very HMAC X signs POST bodies with, so answering any text would sign any
    body. Only a token shaped as X sends it is answered: 1-128 base64/base64url characters and at
    most two `=`, and never one that is itself a JSON document (a bare number such as `12345` is
    base64-shaped). Anything else raises VerificationError and nothing is signed."""
    if not crc_token:
        raise VerificationError("crc_token is missing")
    if len(crc_token) > CRC_TOKEN_MAX_LENGTH or not _CRC_TOKEN.fullmatch(crc_token) or _is_json(crc_token):
        raise VerificationError(f"crc_token must be 1-{CRC_TOKEN_MAX_LENGTH} base64 or base64url characters")
    return {"response_token": x_signature(consumer_secret, crc_token.encode())}


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def verify_telegram_token(secret_token: str, headers: Mapping[str, str]) -> None:
    """Check `X-Telegram-Bot-Api-Secret-Token` against the configured token; absent is wrong."""
    offered = headers.get("x-telegram-bot-api-secret-token", "")
    if not offered or not hmac.compare_digest(secret_token.encode(), offered.encode()):
        raise VerificationError("X-Telegram-Bot-Api-Secret-Token is missing or wrong")


def meta_challenge(verify_token: str, params: Mapping[str, str]) -> str:
    """Meta's subscription handshake: the `hub.challenge` exactly as sent, when `hub.mode` is
    `subscribe` and `hub.verify_token` equals the configured token; else VerificationError (403)."""
    offered = params.get("hub.verify_token", "")
    token_ok = hmac.compare_digest(verify_token.encode(), offered.encode())
    if params.get("hub.mode") != "subscribe" or not token_ok or "hub.challenge" not in params:
        raise VerificationError("hub.mode must be subscribe and hub.verify_token must match")
    return params["hub.challenge"]
