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
from collections.abc import Callable, Mapping
from typing import Protocol

# X sends a short random token of base64 or base64url characters (48 of them in practice).
CRC_TOKEN_MAX_LENGTH = 128
_CRC_TOKEN = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")


class VerificationError(ValueError):
    """A missing or wrong signature, token or handshake parameter; the body must be stored nowhere."""


class BodyCheck(Protocol):
    """A signature check fed the body as it arrives, so the body is never held twice to check it."""

    def update(self, chunk: bytes) -> None:
        """Take the next part of the body."""

    def verify(self) -> None:
        """Raise VerificationError unless the body taken so far is the signed one."""


class HmacBodyCheck:
    """HMAC-SHA256 of the body computed while it streams, compared in constant time at the end
    with the signature offered (already normalised by the caller)."""

    def __init__(self, secret: str, offered: str, render: Callable[[bytes], str], header: str):
        self._mac = hmac.new(secret.encode(), digestmod=hashlib.sha256)
        self._offered = offered
        self._render = render
        self._header = header

    def update(self, chunk: bytes) -> None:
        self._mac.update(chunk)

    def verify(self) -> None:
        if not hmac.compare_digest(self._render(self._mac.digest()).encode(), self._offered.encode()):
            raise VerificationError(f"{self._header} does not match the body")


class HeaderOnlyCheck:
    """A scheme that signs no body (Telegram): the header was checked when the check was made."""

    def update(self, chunk: bytes) -> None:
        pass

    def verify(self) -> None:
        pass


def hub_signature(app_secret: str, body: bytes) -> str:
    """Meta's `X-Hub-Signature-256` value: `sha256=` + lowercase hex HMAC-SHA256(app secret, body)."""
    return _hub_render(hmac.new(app_secret.encode(), body, hashlib.sha256).digest())


def _hub_render(digest: bytes) -> str:
    return "sha256=" + digest.hex()


def meta_body_check(app_secret: str, headers: Mapping[str, str]) -> HmacBodyCheck:
    """The check of `X-Hub-Signature-256` over the raw bytes as received (Meta escapes non-ASCII as
    `\\uXXXX`, so re-serialised JSON would not match). Raises VerificationError at once when the
    header is missing, before any of the body is read."""
    offered = headers.get("x-hub-signature-256", "")
    if not offered.startswith("sha256="):
        raise VerificationError("X-Hub-Signature-256 is missing")
    return HmacBodyCheck(app_secret, offered.strip().lower(), _hub_render, "X-Hub-Signature-256")


def verify_meta_signature(app_secret: str, headers: Mapping[str, str], body: bytes) -> None:
    """Check `X-Hub-Signature-256` over the whole `body`. Raises VerificationError."""
    _check_whole(meta_body_check(app_secret, headers), body)


def x_signature(consumer_secret: str, message: bytes) -> str:
    """`sha256=` + base64 HMAC-SHA256(consumer secret, message): X's signature and CRC answer."""
    return _x_render(hmac.new(consumer_secret.encode(), message, hashlib.sha256).digest())


def _x_render(digest: bytes) -> str:
    return "sha256=" + base64.b64encode(digest).decode()


def x_body_check(consumer_secret: str, headers: Mapping[str, str]) -> HmacBodyCheck:
    """The check of `x-twitter-webhooks-signature` (base64, not hex) over the raw body; raises
    VerificationError at once when the header is missing."""
    offered = headers.get("x-twitter-webhooks-signature", "")
    if not offered.startswith("sha256="):
        raise VerificationError("x-twitter-webhooks-signature is missing")
    return HmacBodyCheck(consumer_secret, offered.strip(), _x_render, "x-twitter-webhooks-signature")


def verify_x_signature(consumer_secret: str, headers: Mapping[str, str], body: bytes) -> None:
    """Check `x-twitter-webhooks-signature` over the whole `body`. Raises VerificationError."""
    _check_whole(x_body_check(consumer_secret, headers), body)


def _check_whole(check: BodyCheck, body: bytes) -> None:
    check.update(body)
    check.verify()


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


def verify_telegram_token(secret_token: str, headers: Mapping[str, str]) -> HeaderOnlyCheck:
    """Check `X-Telegram-Bot-Api-Secret-Token` against the configured token; absent is wrong.
    Telegram signs no body, so the check returned takes the body and checks nothing more."""
    offered = headers.get("x-telegram-bot-api-secret-token", "")
    if not offered or not hmac.compare_digest(secret_token.encode(), offered.encode()):
        raise VerificationError("X-Telegram-Bot-Api-Secret-Token is missing or wrong")
    return HeaderOnlyCheck()


def meta_challenge(verify_token: str, params: Mapping[str, str]) -> str:
    """Meta's subscription handshake: the `hub.challenge` exactly as sent, when `hub.mode` is
    `subscribe` and `hub.verify_token` equals the configured token; else VerificationError (403)."""
    offered = params.get("hub.verify_token", "")
    token_ok = hmac.compare_digest(verify_token.encode(), offered.encode())
    if params.get("hub.mode") != "subscribe" or not token_ok or "hub.challenge" not in params:
        raise VerificationError("hub.mode must be subscribe and hub.verify_token must match")
    return params["hub.challenge"]
