"""Square events to `NormalizedEvent`s.

Square has no metadata map on payments: the platform keys travel URL-encoded in the payment's
`note`, the merchant is the event's `merchant_id`, and refunds and disputes name their payment.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from contracts.reference.providers import Provider
from contracts.schemas.normalized_event import EventType, NormalizedEvent, PaymentStatus, SourcePosition, payment_id_for
from contracts.schemas.payment_event import SquareEnvelope
from contracts.schemas.providers.square import (
    SquareDispute,
    SquareMoney,
    SquarePayment,
    SquarePaymentData,
    SquareRefund,
    SquareRefundData,
)
from normalizer.mapping.common import Ignored, MappingError, build, decline, lifted, provider_amount, unsupported

PROVIDER = Provider.SQUARE
DATA = "payload.data.object"

_PAYMENTS: dict[str, tuple[EventType, PaymentStatus]] = {
    "APPROVED": (EventType.PAYMENT_AUTHORIZED, PaymentStatus.AUTHORIZED),
    "COMPLETED": (EventType.PAYMENT_SUCCEEDED, PaymentStatus.SUCCEEDED),
    "FAILED": (EventType.PAYMENT_FAILED, PaymentStatus.FAILED),
    "CANCELED": (EventType.PAYMENT_CANCELED, PaymentStatus.CANCELED),
}
_REFUNDS: dict[str, tuple[EventType, PaymentStatus]] = {
    "COMPLETED": (EventType.REFUND_SUCCEEDED, PaymentStatus.REFUNDED),
    "REJECTED": (EventType.REFUND_FAILED, PaymentStatus.SUCCEEDED),
    "FAILED": (EventType.REFUND_FAILED, PaymentStatus.SUCCEEDED),
}
_CLOSED_DISPUTES: dict[str, tuple[EventType, PaymentStatus]] = {
    "WON": (EventType.DISPUTE_WON, PaymentStatus.SUCCEEDED),
    "INQUIRY_CLOSED": (EventType.DISPUTE_WON, PaymentStatus.SUCCEEDED),
    "LOST": (EventType.DISPUTE_LOST, PaymentStatus.CHARGED_BACK),
    "ACCEPTED": (EventType.DISPUTE_LOST, PaymentStatus.CHARGED_BACK),
}
_OPENED = (EventType.DISPUTE_OPENED, PaymentStatus.DISPUTED)
_OPEN_DISPUTE_STATES = frozenset({"INQUIRY_EVIDENCE_REQUIRED", "INQUIRY_PROCESSING", "EVIDENCE_REQUIRED", "PROCESSING"})
"""States of a dispute that is still open: its opening was told by `dispute.created`, and a
`dispute.state.updated` into one of them (evidence sent, under review) is no new outcome."""


def normalize(envelope: SquareEnvelope, source: SourcePosition | None = None) -> NormalizedEvent:
    event = envelope.payload
    data = event.data
    if not event.type.startswith(data.type + "."):
        raise MappingError.one(
            "payload.type", "object_mismatch", f"event type {event.type!r} does not carry a {data.type}"
        )
    if isinstance(data, SquarePaymentData):
        fields = _payment(data.object.payment)
    elif isinstance(data, SquareRefundData):
        fields = _refund(data.object.refund)
    else:
        fields = _dispute(event.type, data.object.dispute)
    fields["occurred_at"] = event.created_at
    fields["merchant_id"] = event.merchant_id
    return build(PROVIDER, envelope.provider_event_id, source, fields)


def _money(money: SquareMoney, field: str) -> dict[str, Any]:
    return {"amount_minor": provider_amount(PROVIDER, money.amount, money.currency, field), "currency": money.currency}


def _note_metadata(note: str | None) -> dict[str, str]:
    """The platform keys a merchant wrote into the note as `key=value&...`; any other note is prose."""
    if not note or "=" not in note:
        return {}
    try:
        return lifted(dict(parse_qsl(note, strict_parsing=True)))
    except ValueError:
        return {}


def _payment(payment: SquarePayment) -> dict[str, Any]:
    if payment.status == "PENDING":  # not an outcome yet: `payment.updated` tells it
        raise Ignored("not_an_outcome_yet", f"payment {payment.id} is PENDING")
    try:
        event_type, status = _PAYMENTS[payment.status]
    except KeyError:
        raise unsupported(f"{DATA}.payment.status", payment.status, "Square payment status") from None
    fields: dict[str, Any] = {
        "event_type": event_type,
        "status": status,
        "payment_id": payment_id_for(PROVIDER, payment.id),
        **_money(payment.amount_money, f"{DATA}.payment.amount_money.amount"),
        **_note_metadata(payment.note),
    }
    fields.pop("merchant_id", None)  # the event's merchant_id is authoritative
    if payment.customer_id:
        fields["customer_id"] = payment.customer_id
    details = payment.card_details
    if details is not None and details.card.fingerprint:
        card = details.card
        fields["card"] = {
            "fingerprint": card.fingerprint,
            "bin": card.bin,
            "last4": card.last_4,
            "brand": card.card_brand,
        }
    if event_type is EventType.PAYMENT_FAILED:
        errors = details.errors if details is not None else []
        fields.update(decline(PROVIDER, errors[0].code if errors else None))
    return fields


def _refund(refund: SquareRefund) -> dict[str, Any]:
    if refund.status == "PENDING":  # not an outcome yet: `refund.updated` tells it
        raise Ignored("not_an_outcome_yet", f"refund {refund.id} is PENDING")
    try:
        event_type, status = _REFUNDS[refund.status]
    except KeyError:
        raise unsupported(f"{DATA}.refund.status", refund.status, "Square refund status") from None
    return {
        "event_type": event_type,
        "status": status,
        "payment_id": payment_id_for(PROVIDER, refund.payment_id),
        "refund_id": refund.id,
        **_money(refund.amount_money, f"{DATA}.refund.amount_money.amount"),
    }


def _dispute(event_type_name: str, dispute: SquareDispute) -> dict[str, Any]:
    """`dispute.created` opens a dispute; a state update tells an outcome only when it closes one."""
    state = dispute.state
    if state not in _CLOSED_DISPUTES and state not in _OPEN_DISPUTE_STATES:
        raise unsupported(f"{DATA}.dispute.state", state, "Square dispute state")
    if event_type_name == "dispute.created":
        event_type, status = _OPENED
    elif event_type_name == "dispute.state.updated":
        if state in _OPEN_DISPUTE_STATES:
            raise Ignored("dispute_still_open", f"dispute {dispute.id} moved to {state}, still open")
        event_type, status = _CLOSED_DISPUTES[state]
    else:
        raise unsupported("payload.type", event_type_name, "Square event type")
    return {
        "event_type": event_type,
        "status": status,
        "payment_id": payment_id_for(PROVIDER, dispute.disputed_payment.payment_id),
        "dispute_id": dispute.id,
        "dispute_reason": dispute.reason,
        **_money(dispute.amount_money, f"{DATA}.dispute.amount_money.amount"),
    }
