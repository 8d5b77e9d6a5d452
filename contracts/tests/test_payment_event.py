"""Provider payloads: what is accepted, normalized on the way in, and refused with a precise error."""

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from pydantic import ValidationError

from contracts.schemas.payment_event import AdyenEnvelope, SquareEnvelope, StripeEnvelope, parse_payment_event
from contracts.schemas.providers.adyen import AdyenNotification
from contracts.schemas.providers.braintree import BraintreeNotification, BraintreeSubject, BraintreeTransaction
from contracts.schemas.providers.stripe import StripeDispute, StripeEvent, StripePaymentIntent
from contracts.schemas.scoring import RetryStrategyResponse


def stripe_event(**intent: Any) -> dict[str, Any]:
    obj = {
        "id": "pi_3Nabc",
        "object": "payment_intent",
        "amount": 2599,
        "currency": "eur",
        "status": "succeeded",
        "created": 1_700_000_000,
        "customer": "cus_1",
        "metadata": {"merchant_id": "m_1"},
        "unmodelled_field": {"kept": True},
    } | intent
    return {
        "id": "evt_1",
        "object": "event",
        "api_version": "2024-06-20",
        "created": 1_700_000_001,
        "type": "payment_intent.succeeded",
        "data": {"object": obj},
    }


def errors(exc: pytest.ExceptionInfo[ValidationError]) -> list[tuple[tuple[int | str, ...], str]]:
    return [(e["loc"], e["type"]) for e in exc.value.errors()]


def test_stripe_currency_is_normalized_to_upper_case() -> None:
    event = StripeEvent.model_validate(stripe_event())
    assert isinstance(event.data.object, StripePaymentIntent)
    assert event.data.object.currency == "EUR"


def test_stripe_unmodelled_fields_are_kept() -> None:
    event = StripeEvent.model_validate(stripe_event())
    assert event.raw()["data"]["object"]["unmodelled_field"] == {"kept": True}


def test_rejects_unknown_currency_with_field_location() -> None:
    with pytest.raises(ValidationError) as exc:
        StripeEvent.model_validate(stripe_event(currency="xyz"))
    assert (("data", "object", "payment_intent", "currency"), "enum") in errors(exc) or any(
        loc[-1] == "currency" for loc, _ in errors(exc)
    )


def test_rejects_float_amount() -> None:
    with pytest.raises(ValidationError) as exc:
        StripeEvent.model_validate(stripe_event(amount=25.99))
    assert any(loc[-1] == "amount" and kind == "int_type" for loc, kind in errors(exc))


def test_rejects_negative_amount() -> None:
    with pytest.raises(ValidationError) as exc:
        StripeEvent.model_validate(stripe_event(amount=-1))
    assert any(loc[-1] == "amount" and kind == "greater_than_equal" for loc, kind in errors(exc))


def test_rejects_unknown_stripe_object_kind() -> None:
    with pytest.raises(ValidationError) as exc:
        StripeEvent.model_validate(stripe_event(object="invoice"))
    assert any(kind == "union_tag_invalid" for _, kind in errors(exc))


def test_square_data_must_match_its_type() -> None:
    body = {
        "merchant_id": "ML1",
        "type": "payment.updated",
        "event_id": "5b2f7d0e-0000-4000-8000-000000000000",
        "created_at": "2024-05-01T10:00:00Z",
        "data": {"type": "payment", "id": "p1", "object": {"refund": {}}},
    }
    with pytest.raises(ValidationError) as exc:
        SquareEnvelope.model_validate(
            {
                "envelope_id": str(uuid4()),
                "provider_event_id": "x",
                "event_type": "payment.updated",
                "received_at": "2024-05-01T10:00:01Z",
                "payload": body,
            }
        )
    assert any(loc[:4] == ("payload", "data", "payment", "object") for loc, _ in errors(exc))


def test_adyen_batch_requires_items_and_keeps_camel_case() -> None:
    item = {
        "amount": {"value": 1000, "currency": "EUR"},
        "eventCode": "AUTHORISATION",
        "eventDate": "2024-05-01T10:00:00+02:00",
        "merchantAccountCode": "TestMerchant",
        "merchantReference": "order-1",
        "pspReference": "7914073381342284",
        "success": "true",
        "additionalData": {"hmacSignature": "abc="},
    }
    batch = AdyenNotification.model_validate(
        {"live": "false", "notificationItems": [{"NotificationRequestItem": item}]}
    )
    parsed = batch.notification_items[0].item
    assert parsed.provider_event_id() == "7914073381342284:AUTHORISATION:true"
    assert parsed.event_date.utcoffset() is not None and parsed.event_date.hour == 8
    assert parsed.raw()["eventCode"] == "AUTHORISATION"
    with pytest.raises(ValidationError) as exc:
        AdyenNotification.model_validate({"live": "false", "notificationItems": []})
    assert any(kind == "too_short" for _, kind in errors(exc))


def test_rejects_naive_timestamp() -> None:
    with pytest.raises(ValidationError) as exc:
        BraintreeNotification.model_validate(
            {"kind": "transaction_settled", "timestamp": "2024-05-01T10:00:00", "subject": {}}
        )
    assert any(loc == ("timestamp",) for loc, _ in errors(exc))


@pytest.mark.parametrize("timestamp", ["9999-12-31T20:00:00-05:00", "0001-01-01T00:30:00+01:00"])
def test_rejects_a_timestamp_out_of_range_in_utc(timestamp: str) -> None:
    with pytest.raises(ValidationError) as exc:
        BraintreeNotification.model_validate({"kind": "transaction_settled", "timestamp": timestamp, "subject": {}})
    assert any(loc == ("timestamp",) for loc, _ in errors(exc))


@pytest.mark.parametrize(
    ("amount", "currency", "minor"), [("10.00", "USD", 1000), ("1000", "JPY", 1000), ("1.234", "KWD", 1234)]
)
def test_braintree_major_amounts_convert_with_the_iso_exponent(amount: str, currency: str, minor: int) -> None:
    notification = BraintreeNotification.model_validate(
        {
            "kind": "transaction_settled",
            "timestamp": "2024-05-01T10:00:00Z",
            "subject": {
                "transaction": {
                    "id": "t1",
                    "amount": amount,
                    "currency_iso_code": currency,
                    "status": "settled",
                    "created_at": "2024-05-01T09:59:00Z",
                }
            },
        }
    )
    assert notification.subject.transaction is not None
    assert notification.subject.transaction.amount == Decimal(amount)
    assert notification.subject.transaction.amount_minor() == minor


def test_envelope_is_discriminated_by_provider() -> None:
    envelope = StripeEnvelope(
        envelope_id=uuid4(),
        provider_event_id="evt_1",
        event_type="payment_intent.succeeded",
        received_at="2024-05-01T10:00:00Z",
        payload=StripeEvent.model_validate(stripe_event()),
    )
    parsed = parse_payment_event(envelope.model_dump_json())
    assert isinstance(parsed, StripeEnvelope)
    doc = json.loads(envelope.model_dump_json())
    doc["provider"] = "adyen"
    with pytest.raises(ValidationError):
        AdyenEnvelope.model_validate(doc)
    with pytest.raises(ValidationError):
        parse_payment_event(json.dumps(doc))


def test_envelope_refuses_unknown_fields() -> None:
    envelope = json.loads(
        StripeEnvelope(
            envelope_id=uuid4(),
            provider_event_id="evt_1",
            event_type="payment_intent.succeeded",
            received_at="2024-05-01T10:00:00Z",
            payload=StripeEvent.model_validate(stripe_event()),
        ).model_dump_json()
    )
    envelope["stripe_signature"] = "t=1,v1=abc"
    with pytest.raises(ValidationError) as exc:
        parse_payment_event(json.dumps(envelope))
    assert any(loc[-1] == "stripe_signature" and kind == "extra_forbidden" for loc, kind in errors(exc))


def test_braintree_empty_custom_fields_element_means_no_fields() -> None:
    notification = BraintreeNotification.model_validate(
        {
            "kind": "transaction_settled",
            "timestamp": "2024-05-01T10:00:00Z",
            "subject": {
                "transaction": {
                    "id": "t1",
                    "amount": "1.00",
                    "currency_iso_code": "USD",
                    "status": "settled",
                    "custom_fields": "",
                    "created_at": "2024-05-01T09:59:00Z",
                }
            },
        }
    )
    assert notification.subject.transaction is not None
    assert notification.subject.transaction.custom_fields == {}


def test_a_stripe_dispute_prevented_before_it_opened_is_read() -> None:
    dispute = StripeDispute.model_validate(
        {
            "id": "dp_1",
            "object": "dispute",
            "amount": 2599,
            "currency": "usd",
            "charge": "ch_1",
            "reason": "fraudulent",
            "status": "prevented",
            "created": 1_700_000_000,
        }
    )
    assert dispute.status == "prevented"


def test_retry_advice_times_are_utc() -> None:
    advice = {
        "payment_id": "pay_1",
        "category": "insufficient_funds",
        "action": "retry_later",
        "delay_seconds": 60,
        "attempts_remaining": 1,
        "reason": "r",
    }
    with pytest.raises(ValidationError):
        RetryStrategyResponse.model_validate(advice | {"retry_at": "2025-06-01T12:00:00"})
    aware = RetryStrategyResponse.model_validate(advice | {"retry_at": "2025-06-01T14:00:00+02:00"})
    assert aware.retry_at is not None and aware.retry_at.utcoffset() == timedelta(0) and aware.retry_at.hour == 12


def _braintree_settled(**transaction: Any) -> dict[str, Any]:
    return {
        "kind": "transaction_settlement_declined",
        "timestamp": "2024-05-01T10:00:00Z",
        "subject": {
            "transaction": {
                "id": "t1",
                "amount": "10.00",
                "currency_iso_code": "USD",
                "status": "settlement_declined",
                **transaction,
            }
        },
    }


@pytest.mark.parametrize("sent", [{}, {"processor_settlement_response_code": "4001"}])
def test_braintree_event_id_survives_a_contract_that_declares_one_more_field(sent: dict[str, str]) -> None:
    """A later contracts release declaring an optional field keeps every notification's id, whether
    the notification carries that field (an unmodelled extra before) or not."""

    class LaterTransaction(BraintreeTransaction):
        processor_settlement_response_code: str | None = None

    class LaterSubject(BraintreeSubject):
        transaction: LaterTransaction | None = None

    class LaterNotification(BraintreeNotification):
        subject: LaterSubject

    document = _braintree_settled(**sent)
    today = BraintreeNotification.model_validate(document).provider_event_id()
    later = LaterNotification.model_validate(document).provider_event_id()
    assert later == today
    # and the content still tells two notifications apart
    other = BraintreeNotification.model_validate(_braintree_settled(processor_response_code="2000"))
    assert other.provider_event_id() != today
