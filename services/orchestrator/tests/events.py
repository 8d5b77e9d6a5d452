"""Normalized events and dead letters built from contracts, as the normalizer would publish them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.reference.decline_codes import categorize
from contracts.reference.providers import Provider
from contracts.schemas.dlq import DeadLetter, RejectReason
from contracts.schemas.normalized_event import (
    CardInfo,
    EventType,
    NormalizedEvent,
    PaymentStatus,
    SourcePosition,
    event_id_for,
    payment_id_for,
)

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)

STATUS_OF: dict[EventType, PaymentStatus] = {
    EventType.PAYMENT_AUTHORIZED: PaymentStatus.AUTHORIZED,
    EventType.PAYMENT_CAPTURED: PaymentStatus.SUCCEEDED,
    EventType.PAYMENT_SUCCEEDED: PaymentStatus.SUCCEEDED,
    EventType.PAYMENT_FAILED: PaymentStatus.FAILED,
    EventType.REFUND_SUCCEEDED: PaymentStatus.REFUNDED,
    EventType.REFUND_FAILED: PaymentStatus.SUCCEEDED,
    EventType.DISPUTE_OPENED: PaymentStatus.DISPUTED,
    EventType.DISPUTE_WON: PaymentStatus.SUCCEEDED,
    EventType.DISPUTE_LOST: PaymentStatus.CHARGED_BACK,
}


def new_payment_id(provider: Provider = Provider.STRIPE) -> str:
    return payment_id_for(provider, f"pi_{uuid.uuid4().hex[:16]}")


def make_event(
    payment_id: str,
    event_type: EventType = EventType.PAYMENT_SUCCEEDED,
    *,
    customer_id: str | None = "cus_safe",
    card_fingerprint: str = "fp_safe",
    minutes: int = 0,
    amount_minor: int = 2500,
    currency: str = "USD",
    **fields: Any,
) -> NormalizedEvent:
    provider = Provider(payment_id.split(":", 1)[0])
    provider_event_id = f"evt_{payment_id.split(':', 1)[1]}_{event_type.value}_{minutes}"
    decline_code = fields.pop("decline_code", None)
    return NormalizedEvent(
        event_id=event_id_for(provider, provider_event_id),
        provider=provider,
        provider_event_id=provider_event_id,
        event_type=event_type,
        payment_id=payment_id,
        status=STATUS_OF[event_type],
        amount_minor=amount_minor,
        currency=currency,
        occurred_at=T0 + timedelta(minutes=minutes),
        merchant_id="mer_1",
        customer_id=customer_id,
        card=CardInfo(fingerprint=card_fingerprint, bin="424242", last4="4242", country="US"),
        decline_code=decline_code,
        decline_category=categorize(provider, decline_code) if decline_code else None,
        ip_country="US",
        **fields,
    )


def make_dead_letter(offset: int = 7) -> DeadLetter:
    return DeadLetter(
        dlq_id=uuid.uuid4(),
        stage="normalizer",
        source=SourcePosition(topic="webhooks.stripe.v1", partition=0, offset=offset),
        key="evt_bad",
        reasons=(RejectReason(field="data.object.amount", code="missing", message="amount is required"),),
        payload_excerpt='{"id": "evt_bad"}',
        failed_at=T0,
    )
