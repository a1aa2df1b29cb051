"""Signature schemes with the known-answer vectors of shared/connectors/README.md, and one changed
byte; handshakes answered exactly as the platforms require."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from app.delivery.signing import SignatureError, decode_secret, verify_payload
from app.delivery.signing import signature as standard_signature
from app.ingest.verification import (
    VerificationError,
    hub_signature,
    meta_challenge,
    verify_meta_signature,
    verify_telegram_token,
    verify_x_signature,
    x_crc_response,
    x_signature,
)
from tests.ingest.platform_support import SAMPLES


def flip_one_byte(body: bytes) -> bytes:
    changed = bytearray(body)
    changed[len(body) // 2] ^= 0x01
    return bytes(changed)


def test_hmac_sha256_known_answer() -> None:
    assert hmac.new(b"secret", b"test", hashlib.sha256).hexdigest() == \
        "0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914"
    assert hub_signature("secret", b"test") == "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914"


def test_meta_known_answer_on_the_whatsapp_sample_and_one_changed_byte() -> None:
    body = (SAMPLES / "whatsapp_message.json").read_bytes()
    assert len(body) == 985
    expected = "sha256=fb9ed03f67f3e716a1d54cbd07eecf07c48d9665cbb1b008cf17c41de052fe0f"
    assert hub_signature("meta-app-secret", body) == expected
    verify_meta_signature("meta-app-secret", {"x-hub-signature-256": expected}, body)
    with pytest.raises(VerificationError):
        verify_meta_signature("meta-app-secret", {"x-hub-signature-256": expected}, flip_one_byte(body))
    with pytest.raises(VerificationError):
        verify_meta_signature("meta-app-secret", {"x-hub-signature-256": expected[:-1] + "e"}, body)
    with pytest.raises(VerificationError):
        verify_meta_signature("meta-app-secret", {}, body)
    with pytest.raises(VerificationError):
        verify_meta_signature("other-secret", {"x-hub-signature-256": expected}, body)


def test_x_known_answer_and_one_changed_byte() -> None:
    body = b'{"test_number":1,"test_string":"two"}'
    expected = "sha256=YWHphPn/JFq43jkF0y4/w8R/SelmLjvpunhVFY8JhlI="
    assert x_signature("test", body) == expected
    verify_x_signature("test", {"x-twitter-webhooks-signature": expected}, body)
    with pytest.raises(VerificationError):
        verify_x_signature("test", {"x-twitter-webhooks-signature": expected}, flip_one_byte(body))
    with pytest.raises(VerificationError):  # hex of the same HMAC is not what X sends
        verify_x_signature("test", {"x-twitter-webhooks-signature":
                                    "sha256=" + hmac.new(b"test", body, hashlib.sha256).hexdigest()}, body)
    with pytest.raises(VerificationError):
        verify_x_signature("test", {}, body)


def test_x_crc_answer_is_x_signature_of_the_token_and_never_signs_a_body() -> None:
    assert x_signature("test", b'{"test_number":1,"test_string":"two"}') == \
        "sha256=YWHphPn/JFq43jkF0y4/w8R/SelmLjvpunhVFY8JhlI="
    assert x_crc_response("test", "dGVzdA==") == {"response_token": x_signature("test", b"dGVzdA==")}
    for token in ("", '{"test_number":1,"test_string":"two"}', "12345", "a b", "x" * 129):
        with pytest.raises(VerificationError):
            x_crc_response("test", token)


def test_standard_webhooks_known_answer_and_one_changed_byte() -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert standard_signature(decode_secret(secret), "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == expected
    headers = {"webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp": "1614265330",
               "webhook-signature": expected}
    assert verify_payload([secret], headers, body, now=1614265330) == "msg_p5jXN8AQM9LWM0D4loKWxJek"
    with pytest.raises(SignatureError):
        verify_payload([secret], headers, flip_one_byte(body), now=1614265330)


def test_telegram_secret_token() -> None:
    verify_telegram_token("s3cr3t_token-1", {"x-telegram-bot-api-secret-token": "s3cr3t_token-1"})
    for offered in ({}, {"x-telegram-bot-api-secret-token": ""}, {"x-telegram-bot-api-secret-token": "s3cr3t_token-2"}):
        with pytest.raises(VerificationError):
            verify_telegram_token("s3cr3t_token-1", offered)


@pytest.mark.parametrize("challenge", ["1158201444", "abc-XYZ_09", ""])
def test_meta_challenge_is_echoed_exactly(challenge: str) -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": "tok", "hub.challenge": challenge}
    assert meta_challenge("tok", params) == challenge
    for wrong in ({**params, "hub.verify_token": "tok2"}, {**params, "hub.mode": "unsubscribe"},
                  {"hub.mode": "subscribe", "hub.verify_token": "tok"}):
        with pytest.raises(VerificationError):
            meta_challenge("tok", wrong)
