"""Stripe refunds and disputes without the platform's merchant: `MerchantUnknown` names their
payment, and with the payment's merchant given they map. Envelopes hand-written in Stripe's format
(a Dispute as Stripe sends it: `metadata: {}`); every expected value worked out from them by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid5

import pytest

from contracts.reference.providers import Provider
from contracts.schemas.normalized_event import (
    EVENT_ID_NAMESPACE,
    EventType,
    NormalizedEvent,
    PaymentStatus,
    SourcePosition,
)
from normalizer.mapping import MappingError, MerchantUnknown, normalize

SOURCE = SourcePosition(topic="webhooks.stripe.v1", partition=2, offset=77)
DISPUTE_EVENT_ID = "evt_disputeHand1"


def envelope(event_id: str, event_type: str, obj: dict[str, Any], created: int = 1736400000) -> bytes:
    return json.dumps(
        {
            "envelope_id": "6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b",
            "provider_event_id": event_id,
            "event_type": event_type,
            "received_at": "2025-01-09T05:20:01Z",
            "signature_key_id": "whsec_test",
            "provider": "stripe",
            "payload": {
                "id": event_id,
                "object": "event",
                "api_version": "2024-06-20",
                "created": created,
                "livemode": False,
                "type": event_type,
                "data": {"object": obj},
            },
        }
    ).encode()


def dispute(payment_intent: str | None = "pi_HandPayment01", metadata: dict[str, str] | None = None) -> bytes:
    """A `charge.dispute.created` as Stripe sends it: no platform metadata on the Dispute."""
    return envelope(
        DISPUTE_EVENT_ID,
        "charge.dispute.created",
        {
            "id": "dp_HandDispute01",
            "object": "dispute",
            "amount": 4250,
            "balance_transactions": [],
            "charge": "ch_HandCharge01",
            "created": 1736400000,
            "currency": "eur",
            "evidence_details": {"due_by": 1737004800, "has_evidence": False, "past_due": False, "submission_count": 0},
            "is_charge_refundable": False,
            "livemode": False,
            "metadata": metadata if metadata is not None else {},
            "payment_intent": payment_intent,
            "reason": "fraudulent",
            "status": "needs_response",
        },
    )


def refund(metadata: dict[str, str]) -> bytes:
    return envelope(
        "evt_refundHand1",
        "refund.created",
        {
            "id": "re_HandRefund01",
            "object": "refund",
            "amount": 1000,
            "charge": "ch_HandCharge01",
            "created": 1736400000,
            "currency": "usd",
            "metadata": metadata,
            "payment_intent": "pi_HandPayment01",
            "reason": "requested_by_customer",
            "status": "succeeded",
        },
    )


def event_id(provider_event_id: str) -> UUID:
    """The contract's rule (uuid5 of `<provider>:<provider event id>`), written out here."""
    return uuid5(EVENT_ID_NAMESPACE, f"stripe:{provider_event_id}")


def test_a_real_format_dispute_raises_merchant_unknown_naming_its_payment_intent() -> None:
    with pytest.raises(MerchantUnknown) as unknown:
        normalize(Provider.STRIPE, dispute(), SOURCE)
    assert unknown.value.payment == "pi_HandPayment01"
    assert [(r.field, r.code) for r in unknown.value.reasons] == [
        ("payload.data.object.metadata.merchant_id", "merchant_unknown")
    ]
    assert "pi_HandPayment01" in unknown.value.reasons[0].message


def test_a_dispute_of_a_charge_without_payment_intent_names_the_charge() -> None:
    with pytest.raises(MerchantUnknown) as unknown:
        normalize(Provider.STRIPE, dispute(payment_intent=None), SOURCE)
    assert unknown.value.payment == "ch_HandCharge01"


def test_a_dispute_with_its_payments_merchant_maps_exactly() -> None:
    event = normalize(Provider.STRIPE, dispute(), SOURCE, party={"merchant_id": "MHANDMERCHANT1"})
    assert event == NormalizedEvent(
        event_id=event_id(DISPUTE_EVENT_ID),
        provider=Provider.STRIPE,
        provider_event_id=DISPUTE_EVENT_ID,
        event_type=EventType.DISPUTE_OPENED,
        status=PaymentStatus.DISPUTED,
        payment_id="stripe:pi_HandPayment01",
        dispute_id="dp_HandDispute01",
        dispute_reason="fraudulent",
        amount_minor=4250,  # EUR: Stripe's exponent is ISO's (2)
        currency="EUR",
        occurred_at=datetime(2025, 1, 9, 5, 20, tzinfo=UTC),  # 1736400000
        merchant_id="MHANDMERCHANT1",
        source=SOURCE,
    )


def test_a_refund_without_merchant_keeps_its_own_keys_and_takes_the_payments_merchant() -> None:
    value = refund({"customer_id": "cus_Hand01"})
    with pytest.raises(MerchantUnknown) as unknown:
        normalize(Provider.STRIPE, value, SOURCE)
    assert unknown.value.payment == "pi_HandPayment01"
    event = normalize(Provider.STRIPE, value, SOURCE, party={"merchant_id": "MHANDMERCHANT1"})
    assert (event.event_type, event.refund_id, event.amount_minor, event.currency) == (
        EventType.REFUND_SUCCEEDED,
        "re_HandRefund01",
        1000,
        "USD",
    )
    assert (event.merchant_id, event.customer_id, event.payment_id) == (
        "MHANDMERCHANT1",
        "cus_Hand01",
        "stripe:pi_HandPayment01",
    )


def test_a_refunds_own_keys_win_over_its_payments_and_the_payment_fills_the_rest() -> None:
    """Both sides name a customer: the refund's. An empty key on the refund counts as absent."""
    value = refund({"customer_id": "cus_Hand01", "device_id": ""})
    payment = {"merchant_id": "MHANDMERCHANT1", "customer_id": "cus_Payment9", "device_id": "dev_payment9"}
    event = normalize(Provider.STRIPE, value, SOURCE, party=payment)
    assert (event.merchant_id, event.customer_id, event.device_id, event.ip_country) == (
        "MHANDMERCHANT1",
        "cus_Hand01",
        "dev_payment9",
        None,
    )


def test_an_object_that_names_its_merchant_keeps_it() -> None:
    """A refund its creator gave the metadata: its own merchant, not the one the lookup holds."""
    event = normalize(
        Provider.STRIPE, refund({"merchant_id": "MOWN00000001"}), SOURCE, party={"merchant_id": "MOTHER000001"}
    )
    assert event.merchant_id == "MOWN00000001"


def test_a_charge_without_merchant_is_refused_not_looked_up() -> None:
    """A payment's own event is the source of its merchant: without it, a plain dead letter."""
    charge = {
        "id": "ch_HandCharge01",
        "object": "charge",
        "amount": 4250,
        "amount_captured": 4250,
        "amount_refunded": 0,
        "captured": True,
        "created": 1736400000,
        "currency": "eur",
        "metadata": {},
        "paid": True,
        "payment_intent": "pi_HandPayment01",
        "refunded": False,
        "status": "succeeded",
    }
    for merchant in (None, {"merchant_id": "MHANDMERCHANT1"}):
        with pytest.raises(MappingError) as refused:
            normalize(Provider.STRIPE, envelope("evt_chargeHand1", "charge.succeeded", charge), SOURCE, party=merchant)
        assert not isinstance(refused.value, MerchantUnknown)
        assert [(r.field, r.code) for r in refused.value.reasons] == [
            ("payload.data.object.metadata.merchant_id", "missing")
        ]


def test_only_stripe_takes_a_merchant() -> None:
    with pytest.raises(ValueError, match="only Stripe"):
        normalize(Provider.ADYEN, b"{}", SOURCE, party={"merchant_id": "M1"})
