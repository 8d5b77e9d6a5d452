"""Stripe's scheme, cross-checked against the official `stripe` SDK in both directions."""

from __future__ import annotations

import hmac
import json
import time
from typing import Any

import pytest
import stripe as stripe_sdk
from hypothesis import given
from hypothesis import strategies as st

from gateway.errors import Reason, SignatureRejectedError
from gateway.signatures import SigningKey, stripe

CURRENT = SigningKey("current", b"whsec_current_secret")
PREVIOUS = SigningKey("previous", b"whsec_previous_secret")
KEYS = (CURRENT, PREVIOUS)
BODY = json.dumps({"id": "evt_1", "object": "event", "amount": "\u20ac1"}, ensure_ascii=False).encode()
NOW = 1_700_000_000.0


def sdk_header(body: bytes, secret: bytes, timestamp: int) -> str:
    header: str = stripe_sdk.WebhookSignature.generate_signature_header(body.decode(), secret.decode(), timestamp)
    return header


def verify(body: bytes, header: str | None, now: float = NOW, tolerance: int = 300) -> SigningKey:
    return stripe.verify(body, header, KEYS, now=now, tolerance=tolerance)


def test_accepts_header_generated_by_the_sdk() -> None:
    assert verify(BODY, sdk_header(BODY, CURRENT.secret, int(NOW))) is CURRENT


def test_sdk_accepts_our_signature() -> None:
    timestamp = int(time.time())
    header = f"t={timestamp},v1={stripe.compute_signature(timestamp, BODY, CURRENT.secret)}"
    assert stripe_sdk.WebhookSignature.verify_header(BODY, header, CURRENT.secret.decode(), tolerance=300)


def test_signature_equals_sdk_private_compute() -> None:
    signed = f"{int(NOW)}.{BODY.decode()}"
    expected = stripe_sdk.WebhookSignature._compute_signature(signed, CURRENT.secret.decode())
    assert stripe.compute_signature(int(NOW), BODY, CURRENT.secret) == expected


@given(body=st.binary(max_size=512).filter(lambda b: _utf8(b)), timestamp=st.integers(0, 2**40))
def test_agrees_with_sdk_on_any_body(body: bytes, timestamp: int) -> None:
    expected = stripe_sdk.WebhookSignature._compute_signature(f"{timestamp}.{body.decode()}", "whsec_x")
    assert stripe.compute_signature(timestamp, body, b"whsec_x") == expected


def _utf8(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


def test_rotation_accepts_the_previous_secret_and_names_it() -> None:
    assert verify(BODY, sdk_header(BODY, PREVIOUS.secret, int(NOW))) is PREVIOUS


def test_accepts_any_of_several_v1_signatures() -> None:
    stale = stripe.compute_signature(int(NOW), BODY, b"whsec_rolled_away")
    good = stripe.compute_signature(int(NOW), BODY, CURRENT.secret)
    assert verify(BODY, f"t={int(NOW)},v1={stale},v1={good},v0=ignored") is CURRENT


def test_rejects_wrong_secret() -> None:
    with pytest.raises(SignatureRejectedError) as exc:
        verify(BODY, sdk_header(BODY, b"whsec_attacker", int(NOW)))
    assert exc.value.reason is Reason.SIGNATURE_MISMATCH


def test_rejects_tampered_body() -> None:
    header = sdk_header(BODY, CURRENT.secret, int(NOW))
    with pytest.raises(SignatureRejectedError) as exc:
        verify(BODY.replace(b"evt_1", b"evt_2"), header)
    assert exc.value.reason is Reason.SIGNATURE_MISMATCH


def test_rejects_tampered_timestamp() -> None:
    header = sdk_header(BODY, CURRENT.secret, int(NOW)).replace(f"t={int(NOW)}", f"t={int(NOW) + 1}")
    with pytest.raises(SignatureRejectedError) as exc:
        verify(BODY, header)
    assert exc.value.reason is Reason.SIGNATURE_MISMATCH


@pytest.mark.parametrize(
    ("age", "reason"),
    [(301, Reason.TIMESTAMP_EXPIRED), (86_400, Reason.TIMESTAMP_EXPIRED), (-301, Reason.TIMESTAMP_IN_FUTURE)],
)
def test_rejects_timestamp_outside_tolerance(age: int, reason: Reason) -> None:
    header = sdk_header(BODY, CURRENT.secret, int(NOW) - age)
    with pytest.raises(SignatureRejectedError) as exc:
        verify(BODY, header)
    assert exc.value.reason is reason


@pytest.mark.parametrize("age", [300, 0, -300])
def test_accepts_timestamp_at_the_tolerance_edges(age: int) -> None:
    assert verify(BODY, sdk_header(BODY, CURRENT.secret, int(NOW) - age)) is CURRENT


def test_tolerance_is_configurable() -> None:
    header = sdk_header(BODY, CURRENT.secret, int(NOW) - 60)
    with pytest.raises(SignatureRejectedError):
        verify(BODY, header, tolerance=30)
    assert verify(BODY, header, tolerance=90) is CURRENT


def test_sdk_also_rejects_what_we_call_expired() -> None:
    timestamp = int(time.time()) - 400
    header = sdk_header(BODY, CURRENT.secret, timestamp)
    with pytest.raises(stripe_sdk.SignatureVerificationError):
        stripe_sdk.WebhookSignature.verify_header(BODY, header, CURRENT.secret.decode(), tolerance=300)
    with pytest.raises(SignatureRejectedError):
        stripe.verify(BODY, header, KEYS, now=time.time(), tolerance=300)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, Reason.SIGNATURE_MISSING),
        ("", Reason.SIGNATURE_MISSING),
        ("v1=abc", Reason.SIGNATURE_MALFORMED),
        ("t=abc,v1=abc", Reason.SIGNATURE_MALFORMED),
        ("t=1,t=2,v1=abc", Reason.SIGNATURE_MALFORMED),
        ("t=1700000000", Reason.SIGNATURE_MALFORMED),
        ("t=1700000000,v0=abc", Reason.SIGNATURE_MALFORMED),
        ("t=\u0661\u0662,v1=abc", Reason.SIGNATURE_MALFORMED),
        # More digits than Python converts (4,300): a ValueError, a 500, before any HMAC.
        ("t=" + "9" * 4301 + ",v1=abc", Reason.SIGNATURE_MALFORMED),
        ("t=1700000000000,v1=abc", Reason.SIGNATURE_MALFORMED),
        ("t=1700000000,v1=\u00e9\u00e9", Reason.SIGNATURE_MISMATCH),
    ],
)
def test_rejects_malformed_headers(header: str | None, reason: Reason) -> None:
    with pytest.raises(SignatureRejectedError) as exc:
        verify(BODY, header)
    assert exc.value.reason is reason


def test_compares_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    header = f"t={int(NOW)},v1={'0' * 64},v1={'1' * 64}"
    with pytest.raises(SignatureRejectedError):
        verify(BODY, header)
    # Every (key, provided signature) pair went through compare_digest, as bytes.
    assert len(calls) == len(KEYS) * 2
    assert all(isinstance(a, bytes) and isinstance(b, bytes) for a, b in calls)
