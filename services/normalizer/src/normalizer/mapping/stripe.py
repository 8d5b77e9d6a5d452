"""Stripe `Event`s to `NormalizedEvent`s.

The payment is the PaymentIntent (the charge when a charge has none); refunds and disputes carry
the payment they belong to. Stripe sends a PaymentIntent payment's outcome twice, once for the
intent and once for its charge (`payment_intent.succeeded` and `charge.succeeded`,
`payment_intent.payment_failed` and `charge.failed`, `payment_intent.amount_capturable_updated`
and an uncaptured `charge.succeeded`): the charge's event is the one source, since it carries the
card, and the intent's is `Ignored` when the intent names its charge (`latest_charge`). A declined charge's issuer code is in `outcome.reason`, the charge's
own `failure_code` is often just `card_declined`: read the former first.

The platform's merchant is in the payment's `metadata.merchant_id` (the platform sets it when it
creates the payment). A Dispute never carries it (Stripe copies no metadata from the charge), a
Refund only when its creator set it: without it, `MerchantUnknown` names the payment, and the
worker maps the event again with the platform keys its payment's event carried (`normalize(...,
party=...)`: the merchant, and the customer, device, IP country and merchant category the payment
named), see `normalizer.stripe_merchants`; the object's own keys win.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contracts.reference.providers import Provider
from contracts.schemas.normalized_event import (
    EventType,
    NormalizedEvent,
    PaymentStatus,
    SourcePosition,
    payment_id_for,
)
from contracts.schemas.payment_event import StripeEnvelope
from contracts.schemas.providers.stripe import (
    StripeCharge,
    StripeDispute,
    StripeEvent,
    StripePaymentIntent,
    StripeRefund,
)
from normalizer.mapping.common import (
    Ignored,
    MappingError,
    MerchantUnknown,
    build,
    decline,
    from_epoch,
    lifted,
    provider_amount,
    require,
    unsupported,
)

PROVIDER = Provider.STRIPE
OBJECT = "payload.data.object"

_INTENT_EVENTS: dict[str, tuple[EventType, PaymentStatus]] = {
    "payment_intent.succeeded": (EventType.PAYMENT_SUCCEEDED, PaymentStatus.SUCCEEDED),
    "payment_intent.payment_failed": (EventType.PAYMENT_FAILED, PaymentStatus.FAILED),
    "payment_intent.canceled": (EventType.PAYMENT_CANCELED, PaymentStatus.CANCELED),
    "payment_intent.amount_capturable_updated": (EventType.PAYMENT_AUTHORIZED, PaymentStatus.AUTHORIZED),
}

_CHARGE_OUTCOMES = frozenset(
    {"payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.amount_capturable_updated"}
)
"""PaymentIntent events whose outcome Stripe also sends as an event of the intent's charge
(`charge.succeeded` captured or not, `charge.failed`): the charge's event is the one source (it
carries the card), the intent's is ignored whenever the intent names a charge."""

_CLOSED_DISPUTES: dict[str, tuple[EventType, PaymentStatus]] = {
    "won": (EventType.DISPUTE_WON, PaymentStatus.SUCCEEDED),
    # An inquiry closed, or a dispute prevented before it became one: the merchant keeps the money.
    "warning_closed": (EventType.DISPUTE_WON, PaymentStatus.SUCCEEDED),
    "prevented": (EventType.DISPUTE_WON, PaymentStatus.SUCCEEDED),
    "lost": (EventType.DISPUTE_LOST, PaymentStatus.CHARGED_BACK),
}


def normalize(
    envelope: StripeEnvelope, source: SourcePosition | None = None, party: Mapping[str, str] | None = None
) -> NormalizedEvent:
    """The event; a refund or dispute without `metadata.merchant_id` takes its payment's platform
    keys `party` (`METADATA_KEYS`, looked up by the worker; its own keys win) or raises
    `MerchantUnknown` when `party` names no merchant. A payment object without it is a
    `MappingError`, party given or not: it is the source of its payment's merchant."""
    event = envelope.payload
    obj = event.data.object
    if isinstance(obj, StripePaymentIntent):
        fields = _intent(event, obj)
    elif isinstance(obj, StripeCharge):
        fields = _charge(event, obj)
    elif isinstance(obj, StripeRefund):
        fields = _refund(event, obj, party)
    else:
        fields = _dispute(event, obj, party)
    fields["occurred_at"] = from_epoch(event.created, "payload.created")
    return build(PROVIDER, envelope.provider_event_id, source, fields)


def _expect(event: StripeEvent, prefixes: tuple[str, ...]) -> None:
    if not event.type.startswith(prefixes):
        raise MappingError.one(
            "payload.type", "object_mismatch", f"event type {event.type!r} does not carry a {event.data.object.object}"
        )


def _party(metadata: dict[str, str], customer: str | None) -> dict[str, Any]:
    meta = lifted(metadata)
    meta["merchant_id"] = require(meta.get("merchant_id"), f"{OBJECT}.metadata.merchant_id", "the platform merchant id")
    if customer and "customer_id" not in meta:
        meta["customer_id"] = customer
    return meta


def _payment_party(metadata: dict[str, str], payment: str, party: Mapping[str, str] | None) -> dict[str, Any]:
    """The platform keys of a refund or dispute: its own metadata when it names the merchant;
    otherwise its payment's keys (`party`) with its own over them; `MerchantUnknown` when neither
    names the merchant."""
    meta = lifted(metadata)
    if "merchant_id" not in meta:
        payments = lifted(party)
        if "merchant_id" not in payments:
            raise MerchantUnknown(payment)
        meta = {**payments, **meta}
    return meta


def payment_of(envelope: StripeEnvelope) -> str:
    """The Stripe payment an event belongs to (what `payment_id_for` is given): the PaymentIntent,
    or the charge when there is none. Empty for a refund that names neither (not mappable)."""
    obj = envelope.payload.data.object
    if isinstance(obj, StripePaymentIntent):
        return obj.id
    if isinstance(obj, StripeCharge):
        return obj.payment_intent or obj.id
    if isinstance(obj, StripeRefund):
        return obj.payment_intent or obj.charge or ""
    return obj.payment_intent or obj.charge


def _intent(event: StripeEvent, intent: StripePaymentIntent) -> dict[str, Any]:
    _expect(event, ("payment_intent.",))
    try:
        event_type, status = _INTENT_EVENTS[event.type]
    except KeyError:
        raise unsupported("payload.type", event.type, "Stripe event type") from None
    if event.type in _CHARGE_OUTCOMES and intent.latest_charge:
        raise Ignored("charge_event_is_the_source", f"{event.type} repeats the event of charge {intent.latest_charge}")
    fields: dict[str, Any] = {
        "event_type": event_type,
        "status": status,
        "payment_id": payment_id_for(PROVIDER, intent.id),
        "amount_minor": provider_amount(PROVIDER, intent.amount, intent.currency, f"{OBJECT}.amount"),
        "currency": intent.currency,
        **_party(intent.metadata, intent.customer),
    }
    if event_type is EventType.PAYMENT_FAILED:
        error = intent.last_payment_error
        fields.update(decline(PROVIDER, (error.decline_code or error.code) if error is not None else None))
    return fields


def _card(charge: StripeCharge) -> dict[str, Any] | None:
    details = charge.payment_method_details
    card = details.card if details is not None else None
    if card is None or not card.fingerprint:
        return None
    country = card.country.upper() if card.country else None
    return {
        "fingerprint": card.fingerprint,
        "bin": card.iin,
        "last4": card.last4,
        "brand": card.brand,
        "country": country,
    }


def _charge(event: StripeEvent, charge: StripeCharge) -> dict[str, Any]:
    _expect(event, ("charge.",))
    if event.type == "charge.refunded":
        # The charge's running total (`amount_refunded`), without the refund's id: Stripe sends
        # `refund.created` for the same refund, and the Refund is the one source of its facts.
        raise Ignored("refund_event_is_the_source", f"charge.refunded of {charge.id} repeats its Refund's event")
    payment = charge.payment_intent or charge.id
    fields: dict[str, Any] = {
        "payment_id": payment_id_for(PROVIDER, payment),
        "currency": charge.currency,
        "card": _card(charge),
        **_party(charge.metadata, charge.customer),
    }
    amount = charge.amount
    if event.type == "charge.succeeded":
        captured = charge.captured
        fields["event_type"] = EventType.PAYMENT_SUCCEEDED if captured else EventType.PAYMENT_AUTHORIZED
        fields["status"] = PaymentStatus.SUCCEEDED if captured else PaymentStatus.AUTHORIZED
    elif event.type == "charge.failed":
        fields["event_type"], fields["status"] = EventType.PAYMENT_FAILED, PaymentStatus.FAILED
        outcome_reason = charge.outcome.reason if charge.outcome is not None else None
        fields.update(decline(PROVIDER, outcome_reason or charge.failure_code))
    elif event.type == "charge.captured":
        fields["event_type"], fields["status"] = EventType.PAYMENT_CAPTURED, PaymentStatus.SUCCEEDED
        amount = charge.amount_captured
    else:
        raise unsupported("payload.type", event.type, "Stripe event type")
    fields["amount_minor"] = provider_amount(PROVIDER, amount, charge.currency, f"{OBJECT}.amount")
    return fields


def _refund(event: StripeEvent, refund: StripeRefund, party: Mapping[str, str] | None) -> dict[str, Any]:
    """A refund's outcome, from the Refund alone. The Refund does not carry the amount of its
    payment, so a successful one is `REFUNDED` even when it returned part of the payment: the
    status says "this refund of `amount_minor` went through", not "the payment is refunded in
    full" (the README says so too)."""
    _expect(event, ("refund.",))
    changed = event.data.previous_attributes
    if event.type == "refund.updated" and changed is not None and "status" not in changed:
        # An update of other fields (metadata, a reason): the outcome was told when it changed.
        raise Ignored("status_unchanged", f"refund.updated of {refund.id} leaves its status {refund.status!r}")
    if refund.status == "succeeded":
        event_type, status = EventType.REFUND_SUCCEEDED, PaymentStatus.REFUNDED
    elif refund.status in ("failed", "canceled"):
        event_type, status = EventType.REFUND_FAILED, PaymentStatus.SUCCEEDED
    else:  # pending, requires_action: not an outcome yet; `refund.updated` tells the outcome
        raise Ignored("not_an_outcome_yet", f"refund {refund.id} is {refund.status}")
    payment = require(refund.payment_intent or refund.charge, f"{OBJECT}.payment_intent", "the refunded payment")
    return {
        "event_type": event_type,
        "status": status,
        "payment_id": payment_id_for(PROVIDER, payment),
        "refund_id": refund.id,
        "amount_minor": provider_amount(PROVIDER, refund.amount, refund.currency, f"{OBJECT}.amount"),
        "currency": refund.currency,
        **_payment_party(refund.metadata, payment, party),
    }


def _dispute(event: StripeEvent, dispute: StripeDispute, party: Mapping[str, str] | None) -> dict[str, Any]:
    _expect(event, ("charge.dispute.",))
    if event.type == "charge.dispute.created":
        event_type, status = EventType.DISPUTE_OPENED, PaymentStatus.DISPUTED
    elif event.type == "charge.dispute.closed":
        try:
            event_type, status = _CLOSED_DISPUTES[dispute.status]
        except KeyError:
            raise unsupported(f"{OBJECT}.status", dispute.status, "status of a closed Stripe dispute") from None
    else:
        raise unsupported("payload.type", event.type, "Stripe event type")
    payment = dispute.payment_intent or dispute.charge
    return {
        "event_type": event_type,
        "status": status,
        "payment_id": payment_id_for(PROVIDER, payment),
        "dispute_id": dispute.id,
        "dispute_reason": dispute.reason,
        "amount_minor": provider_amount(PROVIDER, dispute.amount, dispute.currency, f"{OBJECT}.amount"),
        "currency": dispute.currency,
        **_payment_party(dispute.metadata, payment, party),
    }
