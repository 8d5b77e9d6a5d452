"""Adyen's per-item HMAC, cross-checked against the official `Adyen` SDK's util module."""

from __future__ import annotations

import copy
import hmac
from typing import Any

import pytest
from Adyen.util import (  # type: ignore[import-untyped]  # the SDK ships no type information
    generate_notification_sig,
    is_valid_hmac_notification,
)
from hypothesis import given
from hypothesis import strategies as st

from gateway.errors import Reason, SignatureRejectedError
from gateway.signatures import SigningKey, adyen

KEY_HEX = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
OLD_KEY_HEX = "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"
CURRENT = SigningKey("0", bytes.fromhex(KEY_HEX))
PREVIOUS = SigningKey("previous", bytes.fromhex(OLD_KEY_HEX))
KEYS = (CURRENT, PREVIOUS)

# The example from Adyen's HMAC documentation (values joined unescaped, originalReference empty).
ITEM: dict[str, Any] = {
    "additionalData": {},
    "amount": {"currency": "EUR", "value": 1130},
    "eventCode": "AUTHORISATION",
    "eventDate": "2024-05-01T10:00:00+02:00",
    "merchantAccountCode": "TestMerchant",
    "merchantReference": "TestPayment-1407325143704",
    "paymentMethod": "visa",
    "pspReference": "7914073381342284",
    "reason": "1234:7777:12/2012",
    "success": "true",
}


def signed(item: dict[str, Any], key_hex: str = KEY_HEX) -> dict[str, Any]:
    out = copy.deepcopy(item)
    unsigned = {k: v for k, v in out.items() if k != "additionalData"}
    out.setdefault("additionalData", {})["hmacSignature"] = generate_notification_sig(unsigned, key_hex).decode()
    return out


def test_signing_string_matches_the_documented_layout() -> None:
    assert (
        adyen.signing_string(ITEM)
        == "7914073381342284::TestMerchant:TestPayment-1407325143704:1130:EUR:AUTHORISATION:true"
    )


def test_accepts_sdk_signature() -> None:
    assert adyen.verify_item(signed(ITEM), KEYS) is CURRENT


def test_sdk_accepts_our_signature() -> None:
    item = copy.deepcopy(ITEM)
    item["additionalData"]["hmacSignature"] = adyen.compute_signature(ITEM, CURRENT.secret).decode()
    assert is_valid_hmac_notification(item, KEY_HEX)


_field_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20)


@given(
    psp=_field_text,
    original=st.none() | _field_text,
    merchant=_field_text,
    reference=_field_text,
    value=st.integers(0, 10**12),
    currency=st.sampled_from(["EUR", "usd", "JPY"]),
    code=_field_text,
    success=st.sampled_from(["true", "false"]),
)
def test_agrees_with_sdk_on_any_fields(
    psp: str, original: str | None, merchant: str, reference: str, value: int, currency: str, code: str, success: str
) -> None:
    item: dict[str, Any] = {
        "pspReference": psp,
        "merchantAccountCode": merchant,
        "merchantReference": reference,
        "amount": {"value": value, "currency": currency},
        "eventCode": code,
        "success": success,
    }
    if original is not None:
        item["originalReference"] = original
    assert adyen.compute_signature(item, CURRENT.secret) == generate_notification_sig(item, KEY_HEX)
    assert is_valid_hmac_notification(
        {**item, "additionalData": {"hmacSignature": adyen.compute_signature(item, CURRENT.secret).decode()}},
        KEY_HEX,
    )


def test_colons_in_values_are_not_escaped() -> None:
    item = signed({**ITEM, "merchantReference": "order:1:2"})
    assert adyen.signing_string(item).count(":") == 9
    assert adyen.verify_item(item, KEYS) is CURRENT


def test_accepts_the_previous_key_and_names_it() -> None:
    assert adyen.verify_item(signed(ITEM, OLD_KEY_HEX), KEYS) is PREVIOUS


@pytest.mark.parametrize(
    "tamper",
    [
        lambda i: i.update(pspReference="7914073381342285"),
        lambda i: i["amount"].update(value=1131),
        lambda i: i["amount"].update(currency="USD"),
        lambda i: i.update(success="false"),
        lambda i: i.update(originalReference="X"),
        lambda i: i.update(eventCode="REFUND"),
    ],
)
def test_rejects_tampered_signed_field(tamper: Any) -> None:
    item = signed(ITEM)
    tamper(item)
    assert not is_valid_hmac_notification(item, KEY_HEX)
    with pytest.raises(SignatureRejectedError) as exc:
        adyen.verify_item(item, KEYS)
    assert exc.value.reason is Reason.SIGNATURE_MISMATCH


def test_unsigned_fields_may_change() -> None:
    """Adyen signs eight fields only; the rest is protected by TLS, not the HMAC (as documented)."""
    item = signed(ITEM)
    item["reason"] = "changed"
    assert adyen.verify_item(item, KEYS) is CURRENT


def test_rejects_wrong_key() -> None:
    with pytest.raises(SignatureRejectedError):
        adyen.verify_item(signed(ITEM, "AA" * 32), KEYS)


@pytest.mark.parametrize("additional", [None, {}, {"hmacSignature": ""}, {"hmacSignature": 5}, "x"])
def test_rejects_missing_signature(additional: Any) -> None:
    item = {**ITEM, "additionalData": additional}
    with pytest.raises(SignatureRejectedError) as exc:
        adyen.verify_item(item, KEYS)
    assert exc.value.reason is Reason.SIGNATURE_MISSING


def test_compares_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    with pytest.raises(SignatureRejectedError):
        adyen.verify_item({**ITEM, "additionalData": {"hmacSignature": "AAAA"}}, KEYS)
    assert len(calls) == len(KEYS)
