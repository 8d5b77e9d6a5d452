"""Square's scheme, cross-checked against the official `squareup` SDK's WebhooksHelper."""

from __future__ import annotations

import hmac
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from square.utils.webhooks_helper import verify_signature as sdk_verify

from gateway.errors import Reason, SignatureRejectedError
from gateway.signatures import SigningKey, square

URL = "https://gateway.example.com/webhooks/square"
CURRENT = SigningKey("0", b"sq-key-current")
PREVIOUS = SigningKey("1", b"sq-key-previous")
KEYS = (CURRENT, PREVIOUS)
BODY = json.dumps({"event_id": "e1", "type": "payment.updated", "note": "caf\u00e9"}, ensure_ascii=False).encode()


def ours(body: bytes, key: SigningKey, url: str = URL) -> str:
    return square.compute_signature(url, body, key.secret).decode()


def test_sdk_accepts_our_signature() -> None:
    assert sdk_verify(
        request_body=BODY.decode(),
        signature_header=ours(BODY, CURRENT),
        signature_key="sq-key-current",
        notification_url=URL,
    )


@given(
    body=st.text(min_size=1, max_size=300), url=st.text(min_size=1, max_size=60), key=st.text(min_size=1, max_size=40)
)
def test_agrees_with_sdk_on_any_input(body: str, url: str, key: str) -> None:
    signature = square.compute_signature(url, body.encode(), key.encode()).decode()
    assert sdk_verify(request_body=body, signature_header=signature, signature_key=key, notification_url=url)
    assert square.verify(body.encode(), signature, [SigningKey("k", key.encode())], notification_url=url).key_id == "k"


def test_accepts_the_previous_key_and_names_it() -> None:
    assert square.verify(BODY, ours(BODY, PREVIOUS), KEYS, notification_url=URL) is PREVIOUS


def test_rejects_wrong_key() -> None:
    with pytest.raises(SignatureRejectedError) as exc:
        square.verify(BODY, ours(BODY, SigningKey("x", b"attacker")), KEYS, notification_url=URL)
    assert exc.value.reason is Reason.SIGNATURE_MISMATCH


def test_rejects_tampered_body() -> None:
    signature = ours(BODY, CURRENT)
    assert not sdk_verify(
        request_body=BODY.decode() + " ",
        signature_header=signature,
        signature_key="sq-key-current",
        notification_url=URL,
    )
    with pytest.raises(SignatureRejectedError):
        square.verify(BODY + b" ", signature, KEYS, notification_url=URL)


def test_rejects_signature_for_another_notification_url() -> None:
    signature = ours(BODY, CURRENT, url="https://elsewhere.example.com/hook")
    with pytest.raises(SignatureRejectedError):
        square.verify(BODY, signature, KEYS, notification_url=URL)


@pytest.mark.parametrize("header", [None, ""])
def test_rejects_missing_signature(header: str | None) -> None:
    with pytest.raises(SignatureRejectedError) as exc:
        square.verify(BODY, header, KEYS, notification_url=URL)
    assert exc.value.reason is Reason.SIGNATURE_MISSING


def test_non_ascii_header_is_a_mismatch_not_a_crash() -> None:
    with pytest.raises(SignatureRejectedError):
        square.verify(BODY, "\u00e9t\u00e9\U0001f600", KEYS, notification_url=URL)


def test_compares_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    with pytest.raises(SignatureRejectedError):
        square.verify(BODY, "AAAA", KEYS, notification_url=URL)
    assert len(calls) == len(KEYS)
