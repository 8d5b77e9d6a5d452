"""Braintree's scheme and XML, cross-checked against the official `braintree` SDK: its
`WebhookTesting.sample_notification` output verifies with our verifier, our signatures parse with
its `WebhookNotification.parse`, and its sample XML decodes to the same data through our parser."""

from __future__ import annotations

import base64
import hmac
from datetime import UTC, datetime
from typing import Any

import braintree as braintree_sdk  # type: ignore[import-untyped]  # the SDK ships no type information
import pytest
from braintree.util.parser import Parser  # type: ignore[import-untyped]

from contracts.schemas.providers.braintree import BraintreeNotification
from gateway import braintree_xml
from gateway.errors import MalformedRequestError, Reason, SchemaMismatchError, SignatureRejectedError
from gateway.signatures import SigningKey, braintree

PUBLIC, PRIVATE = "integration_public_key", "integration_private_key"
OLD_PUBLIC, OLD_PRIVATE = "old_public_key", "old_private_key"
KEYS = (SigningKey(PUBLIC, PRIVATE.encode()), SigningKey(OLD_PUBLIC, OLD_PRIVATE.encode()))
Kind = braintree_sdk.WebhookNotification.Kind


def sdk_gateway(public: str = PUBLIC, private: str = PRIVATE) -> braintree_sdk.BraintreeGateway:
    config = braintree_sdk.Configuration(
        braintree_sdk.Environment.Sandbox, merchant_id="merchant", public_key=public, private_key=private
    )
    return braintree_sdk.BraintreeGateway(config)


def sample(kind: str = Kind.DisputeOpened, public: str = PUBLIC, private: str = PRIVATE) -> tuple[str, bytes]:
    notification = sdk_gateway(public, private).webhook_testing.sample_notification(kind, "dispute_id_1")
    return notification["bt_signature"], notification["bt_payload"]


def test_accepts_sdk_sample_notification() -> None:
    signature, payload = sample()
    assert braintree.verify(payload, signature, KEYS).key_id == PUBLIC


def test_accepts_sample_signed_with_the_previous_key_pair() -> None:
    signature, payload = sample(public=OLD_PUBLIC, private=OLD_PRIVATE)
    assert braintree.verify(payload, signature, KEYS).key_id == OLD_PUBLIC


def test_sdk_parses_our_signature() -> None:
    _, payload = sample()
    ours = f"{PUBLIC}|{braintree.compute_signature(payload, PRIVATE.encode())}"
    notification = sdk_gateway().webhook_notification.parse(ours, payload)
    assert notification.kind == Kind.DisputeOpened


def test_picks_the_pair_for_a_configured_public_key_among_several() -> None:
    signature, payload = sample()
    combined = f"someone_else|{'0' * 40}&{signature}"
    assert braintree.verify(payload, combined, KEYS).key_id == PUBLIC


def test_accepts_payload_whose_trailing_newline_was_stripped() -> None:
    signature, payload = sample()
    assert payload.endswith(b"\n")
    # Signed over the payload with its final newline; a form encoder dropped that newline.
    stripped = payload[:-1]
    assert braintree.verify(stripped, signature, KEYS).key_id == PUBLIC


def test_rejects_unknown_public_key() -> None:
    signature, payload = sample(public="not_configured")
    with pytest.raises(SignatureRejectedError) as exc:
        braintree.verify(payload, signature, KEYS)
    assert exc.value.reason is Reason.SIGNATURE_MISMATCH


def test_rejects_wrong_private_key() -> None:
    signature, payload = sample(private="attacker")
    with pytest.raises(SignatureRejectedError):
        braintree.verify(payload, signature, KEYS)


def test_rejects_tampered_payload() -> None:
    signature, payload = sample()
    tampered = payload[:10] + (b"A" if payload[10:11] != b"A" else b"B") + payload[11:]
    with pytest.raises(braintree_sdk.exceptions.InvalidSignatureError):
        sdk_gateway().webhook_notification.parse(signature, tampered)
    with pytest.raises(SignatureRejectedError):
        braintree.verify(tampered, signature, KEYS)


@pytest.mark.parametrize(
    ("signature", "reason"),
    [(None, Reason.SIGNATURE_MISSING), ("", Reason.SIGNATURE_MISSING), ("nopipe", Reason.SIGNATURE_MALFORMED)],
)
def test_rejects_missing_or_malformed_signature(signature: str | None, reason: Reason) -> None:
    _, payload = sample()
    with pytest.raises(SignatureRejectedError) as exc:
        braintree.verify(payload, signature, KEYS)
    assert exc.value.reason is reason


@pytest.mark.parametrize("payload", [b"", b"abc$", "caf\u00e9".encode(), b"<xml/>"])
def test_refuses_payload_that_is_not_base64_text(payload: bytes) -> None:
    with pytest.raises(MalformedRequestError):
        braintree.check_payload_alphabet(payload)


def test_compares_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    _, payload = sample()
    with pytest.raises(SignatureRejectedError):
        braintree.verify(payload, f"{PUBLIC}|{'0' * 40}", KEYS)
    assert len(calls) == 2  # the payload as sent, and with a trailing newline


# -- XML -----------------------------------------------------------------------------------


def _sdk_view(value: Any) -> Any:
    """The SDK's parse with naive-UTC datetimes made aware and dates as strings, as ours does."""
    if isinstance(value, dict):
        return {k: _sdk_view(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_sdk_view(v) for v in value]
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


@pytest.mark.parametrize(
    "kind",
    [Kind.DisputeOpened, Kind.DisputeWon, Kind.DisputeLost, Kind.TransactionSettled, Kind.DisbursementException],
)
def test_xml_decodes_like_the_sdk(kind: str) -> None:
    _, payload = sample(kind)
    xml = braintree_xml.decode_payload(payload)
    assert braintree_xml.parse_notification(xml) == _sdk_view(Parser(xml).parse()["notification"])


def test_sdk_dispute_sample_fits_the_contract_model() -> None:
    _, payload = sample(Kind.DisputeOpened)
    data = braintree_xml.parse_notification(braintree_xml.decode_payload(payload))
    notification = BraintreeNotification.model_validate(data)
    assert notification.kind == "dispute_opened"
    assert notification.subject.dispute is not None
    assert notification.subject.dispute.amount_minor() == 10000
    assert notification.timestamp.tzinfo is not None


def test_datetimes_are_aware_utc() -> None:
    xml = b'<notification><timestamp type="datetime">2024-05-01T12:00:00+02:00</timestamp></notification>'
    assert braintree_xml.parse_notification(xml)["timestamp"] == datetime(2024, 5, 1, 10, tzinfo=UTC)


def test_nil_array_integer_boolean_and_dashes() -> None:
    xml = b"""<notification><subject><a-b nil="true"/><items type="array"><item>1</item><item>2</item></items>
    <n type="integer">42</n><ok type="boolean">1</ok><empty/></subject></notification>"""
    subject = braintree_xml.parse_notification(xml)["subject"]
    assert subject == {"a_b": None, "items": ["1", "2"], "n": 42, "ok": True, "empty": ""}


@pytest.mark.parametrize(
    "xml",
    [
        b'<?xml version="1.0"?><!DOCTYPE n [<!ENTITY x "boom">]><notification>&x;</notification>',
        b'<!DOCTYPE n [<!ENTITY e SYSTEM "file:///etc/passwd">]><notification>&e;</notification>',
        b"<notification><unclosed></notification>",
        b"not xml",
        b"",
        b"<notification>" + b"<a>" * 100 + b"x" + b"</a>" * 100 + b"</notification>",
        b'<?xml version="1.0" encoding="x-foo-bar"?><notification><kind>k</kind></notification>',
    ],
)
def test_refuses_hostile_or_broken_xml(xml: bytes) -> None:
    with pytest.raises(MalformedRequestError):
        braintree_xml.parse_notification(xml)


@pytest.mark.parametrize(
    "xml",
    [
        b"<other/>",
        b'<notification><timestamp type="datetime">yesterday</timestamp></notification>',
        # Instants that exist in their own offset but not in UTC.
        b'<notification><timestamp type="datetime">9999-12-31T20:00:00-05:00</timestamp></notification>',
        b'<notification><timestamp type="datetime">0001-01-01T00:30:00+01:00</timestamp></notification>',
        b'<notification><n type="integer">x</n></notification>',
        b"<notification>text only</notification>",
    ],
)
def test_typed_values_that_do_not_parse_are_schema_errors(xml: bytes) -> None:
    with pytest.raises(SchemaMismatchError):
        braintree_xml.parse_notification(xml)


def _settlement_declined_xml(code: str) -> bytes:
    """A settlement decline as Braintree writes the transaction: the authorization approved
    (`processor-response-code` 1000), the settlement refused (`processor-settlement-response-*`)."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<notification>
  <timestamp type="datetime">2024-05-03T06:00:00Z</timestamp>
  <kind>transaction_settlement_declined</kind>
  <subject>
    <transaction>
      <id>sd000001</id>
      <status>settlement_declined</status>
      <type>sale</type>
      <currency-iso-code>USD</currency-iso-code>
      <amount>100.00</amount>
      <merchant-account-id>platform_usd</merchant-account-id>
      <processor-response-code>1000</processor-response-code>
      <processor-response-text>Approved</processor-response-text>
      <processor-settlement-response-code>{code}</processor-settlement-response-code>
      <processor-settlement-response-text>{"Settlement Declined" if code else ""}</processor-settlement-response-text>
    </transaction>
  </subject>
</notification>
""".encode()


@pytest.mark.parametrize("code", ["4001", ""])
def test_settlement_decline_code_reads_like_the_sdk(code: str) -> None:
    """The contract's `processor_settlement_response_code` is the field the SDK's `Transaction`
    reads from `<processor-settlement-response-code>`: the code of a settlement decline."""
    xml = _settlement_declined_xml(code)
    payload = base64.encodebytes(xml)  # as Braintree encodes `bt_payload`
    signature = f"{PUBLIC}|{braintree.compute_signature(payload, PRIVATE.encode())}"
    sdk_transaction = sdk_gateway().webhook_notification.parse(signature, payload).transaction
    ours = BraintreeNotification.model_validate(
        braintree_xml.parse_notification(braintree_xml.decode_payload(payload))
    ).subject.transaction
    assert ours is not None
    assert "processor_settlement_response_code" in type(ours).model_fields  # a declared field, not an extra
    assert (ours.processor_settlement_response_code, ours.processor_response_code) == (code, "1000")
    assert ours.processor_settlement_response_code == sdk_transaction.processor_settlement_response_code
    assert ours.processor_settlement_response_text == sdk_transaction.processor_settlement_response_text


def test_sdk_settlement_declined_sample_fits_the_contract_model() -> None:
    """The SDK's own `transaction_settlement_declined` sample (a US bank account, no settlement code)."""
    _, payload = sample(Kind.TransactionSettlementDeclined)
    data = braintree_xml.parse_notification(braintree_xml.decode_payload(payload))
    transaction = BraintreeNotification.model_validate(data).subject.transaction
    assert transaction is not None
    assert (transaction.status, transaction.processor_settlement_response_code) == ("settlement_declined", None)
