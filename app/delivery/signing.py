"""Standard Webhooks signing and verification (standardwebhooks.com, spec 1.0.0). Pure functions.

Signed content is `{id}.{timestamp}.{body}`; the signature header is a space-separated list of
`v1,<base64 HMAC-SHA256>`, one per secret, so a receiver accepts during a key rotation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable

SECRET_PREFIX = "whsec_"
TOLERANCE_SECONDS = 5 * 60


class SignatureError(ValueError):
    """The headers are missing, malformed, outside the time tolerance, or no signature matches."""


def decode_secret(secret: str) -> bytes:
    """The HMAC key of a `whsec_` secret. Raises ValueError unless it is `whsec_` + base64 of 24–64 bytes."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook secret starts with whsec_")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
    except (ValueError, TypeError) as exc:
        raise ValueError("a webhook secret is whsec_ followed by base64") from exc
    if not 24 <= len(key) <= 64:
        raise ValueError("a webhook secret holds 24 to 64 bytes")
    return key


def signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`."""
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def sign_payload(secrets: Iterable[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers for `body`, signed with every secret given (current first)."""
    signatures = " ".join(signature(decode_secret(s), msg_id, timestamp, body) for s in secrets)
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp), "webhook-signature": signatures}


def verify_payload(secrets: Iterable[str], headers: dict[str, str], body: bytes, *, now: int,
                   tolerance: int = TOLERANCE_SECONDS) -> str:
    """Check a delivery; return its `webhook-id`.

    Guarantees: every comparison is constant-time; a timestamp more than `tolerance` seconds from
    `now` (unix seconds) is refused whatever the signature. Raises SignatureError otherwise.
    """
    msg_id = headers.get("webhook-id", "")
    raw_timestamp = headers.get("webhook-timestamp", "")
    offered = headers.get("webhook-signature", "")
    if not msg_id or not raw_timestamp or not offered:
        raise SignatureError("webhook-id, webhook-timestamp and webhook-signature are required")
    try:
        timestamp = int(raw_timestamp)
    except ValueError as exc:
        raise SignatureError("webhook-timestamp is not a whole number of seconds") from exc
    if abs(now - timestamp) > tolerance:
        raise SignatureError("webhook-timestamp is too far from now")
    candidates = [part.encode() for part in offered.split(" ") if part.startswith("v1,")]
    matched = False
    for secret in secrets:
        expected = signature(decode_secret(secret), msg_id, timestamp, body).encode()
        for candidate in candidates:
            # No early exit: the time taken does not depend on which pair matched.
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise SignatureError("no signature matches")
    return msg_id
