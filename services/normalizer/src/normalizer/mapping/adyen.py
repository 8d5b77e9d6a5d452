"""Adyen notification items to `NormalizedEvent`s.

Adyen has no event id and no payment object: the authorisation's `pspReference` is the payment,
and every later notification (capture, refund, chargeback) names it in `originalReference`. The
platform keys are in `additionalData` as `metadata.<key>`; a refusal's reason is in `reason`.
"""

from __future__ import annotations

from typing import Any

from contracts.reference.providers import Provider
from contracts.schemas.normalized_event import EventType, NormalizedEvent, PaymentStatus, SourcePosition, payment_id_for
from contracts.schemas.payment_event import AdyenEnvelope
from contracts.schemas.providers.adyen import AdyenNotificationItem
from normalizer.mapping.common import build, decline, lifted, provider_amount, require, unsupported

PROVIDER = Provider.ADYEN
METADATA_PREFIX = "metadata."

_SUCCESSFUL: dict[str, tuple[EventType, PaymentStatus]] = {
    # Adyen's authorisation of an auto-captured payment: the platform's "payment succeeded".
    "AUTHORISATION": (EventType.PAYMENT_SUCCEEDED, PaymentStatus.SUCCEEDED),
    "CAPTURE": (EventType.PAYMENT_CAPTURED, PaymentStatus.SUCCEEDED),
    "CAPTURE_FAILED": (EventType.PAYMENT_FAILED, PaymentStatus.FAILED),
    "CANCELLATION": (EventType.PAYMENT_CANCELED, PaymentStatus.CANCELED),
    "REFUND": (EventType.REFUND_SUCCEEDED, PaymentStatus.REFUNDED),
    "REFUND_FAILED": (EventType.REFUND_FAILED, PaymentStatus.SUCCEEDED),
    "NOTIFICATION_OF_CHARGEBACK": (EventType.DISPUTE_OPENED, PaymentStatus.DISPUTED),
    "CHARGEBACK": (EventType.DISPUTE_LOST, PaymentStatus.CHARGED_BACK),
    "SECOND_CHARGEBACK": (EventType.DISPUTE_LOST, PaymentStatus.CHARGED_BACK),
    "CHARGEBACK_REVERSED": (EventType.DISPUTE_WON, PaymentStatus.SUCCEEDED),
}
_UNSUCCESSFUL: dict[str, tuple[EventType, PaymentStatus]] = {
    "AUTHORISATION": (EventType.PAYMENT_FAILED, PaymentStatus.FAILED),
    "CAPTURE": (EventType.PAYMENT_FAILED, PaymentStatus.FAILED),
    "REFUND": (EventType.REFUND_FAILED, PaymentStatus.SUCCEEDED),
}
_DISPUTES = frozenset({"NOTIFICATION_OF_CHARGEBACK", "CHARGEBACK", "SECOND_CHARGEBACK", "CHARGEBACK_REVERSED"})


def normalize(envelope: AdyenEnvelope, source: SourcePosition | None = None) -> NormalizedEvent:
    item = envelope.payload
    table = _SUCCESSFUL if item.success == "true" else _UNSUCCESSFUL
    try:
        event_type, status = table[item.event_code]
    except KeyError:
        raise unsupported("payload.eventCode", f"{item.event_code} success={item.success}", "Adyen event") from None
    data = item.additional_data or {}
    fields: dict[str, Any] = {
        "event_type": event_type,
        "status": status,
        "payment_id": payment_id_for(PROVIDER, _payment_reference(item)),
        "amount_minor": provider_amount(PROVIDER, item.amount.value, item.amount.currency, "payload.amount.value"),
        "currency": item.amount.currency,
        "occurred_at": item.event_date,
        "merchant_id": item.merchant_account_code,
        **_metadata(data),
    }
    if "customer_id" not in fields and data.get("shopperReference"):
        fields["customer_id"] = data["shopperReference"]
    if data.get("alias"):
        fields["card"] = {
            "fingerprint": data["alias"],
            "bin": data.get("cardBin") or None,
            "last4": data.get("cardSummary") or None,
            "brand": item.payment_method,
            "country": data.get("issuerCountry") or None,
        }
    if event_type is EventType.PAYMENT_FAILED and item.event_code == "AUTHORISATION":
        fields.update(decline(PROVIDER, item.reason or None))
    elif event_type in (EventType.REFUND_SUCCEEDED, EventType.REFUND_FAILED):
        fields["refund_id"] = item.psp_reference
    elif item.event_code in _DISPUTES:
        fields["dispute_id"] = item.psp_reference
        fields["dispute_reason"] = item.reason or None
    return build(PROVIDER, envelope.provider_event_id, source, fields)


def _payment_reference(item: AdyenNotificationItem) -> str:
    if item.event_code == "AUTHORISATION":
        return item.psp_reference
    return require(item.original_reference, "payload.originalReference", "the payment's pspReference")


def _metadata(data: dict[str, str]) -> dict[str, str]:
    """`metadata.<key>` entries, without the prefix; the merchant account code stays authoritative."""
    meta = lifted({key.removeprefix(METADATA_PREFIX): value for key, value in data.items()})
    meta.pop("merchant_id", None)
    return meta
