import base64

import pytest
import standardwebhooks

from app.delivery.signing import SignatureError, decode_secret, sign_payload, signature, verify_payload

OFFICIAL_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OFFICIAL_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
OFFICIAL_TS = 1614265330
OFFICIAL_BODY = b'{"test": 2432232314}'
OFFICIAL_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def official_headers(sig: str = OFFICIAL_SIGNATURE) -> dict[str, str]:
    return {"webhook-id": OFFICIAL_ID, "webhook-timestamp": str(OFFICIAL_TS), "webhook-signature": sig}


def test_official_known_answer() -> None:
    assert signature(decode_secret(OFFICIAL_SECRET), OFFICIAL_ID, OFFICIAL_TS, OFFICIAL_BODY) == OFFICIAL_SIGNATURE
    assert verify_payload([OFFICIAL_SECRET], official_headers(), OFFICIAL_BODY, now=OFFICIAL_TS) == OFFICIAL_ID


@pytest.mark.parametrize("position", [0, 5, len(OFFICIAL_BODY) - 1])
def test_one_changed_body_byte_is_refused(position: int) -> None:
    body = bytearray(OFFICIAL_BODY)
    body[position] ^= 0x01
    with pytest.raises(SignatureError):
        verify_payload([OFFICIAL_SECRET], official_headers(), bytes(body), now=OFFICIAL_TS)


def test_changed_id_or_timestamp_is_refused() -> None:
    headers = official_headers() | {"webhook-id": OFFICIAL_ID + "x"}
    with pytest.raises(SignatureError):
        verify_payload([OFFICIAL_SECRET], headers, OFFICIAL_BODY, now=OFFICIAL_TS)
    headers = official_headers() | {"webhook-timestamp": str(OFFICIAL_TS + 1)}
    with pytest.raises(SignatureError):
        verify_payload([OFFICIAL_SECRET], headers, OFFICIAL_BODY, now=OFFICIAL_TS)


@pytest.mark.parametrize("skew,accepted", [(-300, True), (300, True), (-301, False), (301, False)])
def test_five_minute_tolerance(skew: int, accepted: bool) -> None:
    if accepted:
        verify_payload([OFFICIAL_SECRET], official_headers(), OFFICIAL_BODY, now=OFFICIAL_TS + skew)
    else:
        with pytest.raises(SignatureError, match="too far"):
            verify_payload([OFFICIAL_SECRET], official_headers(), OFFICIAL_BODY, now=OFFICIAL_TS + skew)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header_is_refused(missing: str) -> None:
    headers = official_headers()
    del headers[missing]
    with pytest.raises(SignatureError, match="required"):
        verify_payload([OFFICIAL_SECRET], headers, OFFICIAL_BODY, now=OFFICIAL_TS)


def test_any_listed_signature_may_match_and_other_versions_are_ignored() -> None:
    sig = f"v1a,{OFFICIAL_SIGNATURE[3:]} v1,AAAA {OFFICIAL_SIGNATURE}"
    verify_payload([OFFICIAL_SECRET], official_headers(sig), OFFICIAL_BODY, now=OFFICIAL_TS)
    with pytest.raises(SignatureError):
        verify_payload([OFFICIAL_SECRET], official_headers(f"v2,{OFFICIAL_SIGNATURE[3:]}"), OFFICIAL_BODY,
                       now=OFFICIAL_TS)


def test_rotation_signs_with_both_secrets_and_the_reference_library_accepts_each() -> None:
    new = "whsec_" + base64.b64encode(b"n" * 32).decode()
    headers = sign_payload([new, OFFICIAL_SECRET], "msg_1", OFFICIAL_TS, b"{}")
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (new, OFFICIAL_SECRET):
        wh = standardwebhooks.Webhook(secret)
        # The reference library checks the timestamp against its own clock; give it a fresh one.
        import time

        fresh = sign_payload([new, OFFICIAL_SECRET], "msg_1", int(time.time()), b"{}")
        assert wh.verify(b"{}", fresh) == {}
    assert verify_payload([OFFICIAL_SECRET], headers, b"{}", now=OFFICIAL_TS) == "msg_1"


@pytest.mark.parametrize("secret", ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_!!!",
                                    "whsec_" + base64.b64encode(b"x" * 8).decode(),
                                    "whsec_" + base64.b64encode(b"x" * 65).decode()])
def test_malformed_secrets_are_refused(secret: str) -> None:
    with pytest.raises(ValueError):
        decode_secret(secret)
