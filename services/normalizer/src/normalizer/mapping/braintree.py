"""Braintree notifications to `NormalizedEvent`s.

Amounts are decimal major units ("10.00"), converted exactly with the currency's ISO exponent.
The sale transaction is the payment; a refund is a `credit` transaction naming the sale in
`refunded_transaction_id`, a dispute names it in `transaction.id`. Card countries arrive as ISO
alpha-3 ("USA") and leave as alpha-2. A settlement decline's code is the processor's settlement
response (`processor_settlement_response_code`), not the approved authorization's.
"""

from __future__ import annotations

from typing import Any

from contracts.reference.countries import UnknownCountryError, alpha2_from_alpha3
from contracts.reference.providers import Provider
from contracts.schemas.normalized_event import EventType, NormalizedEvent, PaymentStatus, SourcePosition, payment_id_for
from contracts.schemas.payment_event import BraintreeEnvelope
from contracts.schemas.providers.braintree import BraintreeCreditCard, BraintreeDispute, BraintreeTransaction
from normalizer.mapping.common import MappingError, build, decline, lifted, major_amount, require, unsupported

PROVIDER = Provider.BRAINTREE
TRANSACTION = "payload.subject.transaction"
DISPUTE = "payload.subject.dispute"
UNKNOWN_COUNTRY = frozenset({"", "UNKNOWN"})
"""What Braintree writes when the issuer's country is not known: no country, not an error."""

_SALES: dict[str, tuple[EventType, PaymentStatus]] = {
    "transaction_settled": (EventType.PAYMENT_SUCCEEDED, PaymentStatus.SUCCEEDED),
    "transaction_authorized": (EventType.PAYMENT_AUTHORIZED, PaymentStatus.AUTHORIZED),
    "transaction_voided": (EventType.PAYMENT_CANCELED, PaymentStatus.CANCELED),
    "transaction_processor_declined": (EventType.PAYMENT_FAILED, PaymentStatus.FAILED),
    "transaction_settlement_declined": (EventType.PAYMENT_FAILED, PaymentStatus.FAILED),
}
_CREDITS: dict[str, tuple[EventType, PaymentStatus]] = {
    "transaction_settled": (EventType.REFUND_SUCCEEDED, PaymentStatus.REFUNDED),
    "transaction_settlement_declined": (EventType.REFUND_FAILED, PaymentStatus.SUCCEEDED),
}
_DISPUTES: dict[str, tuple[EventType, PaymentStatus]] = {
    "dispute_opened": (EventType.DISPUTE_OPENED, PaymentStatus.DISPUTED),
    "dispute_won": (EventType.DISPUTE_WON, PaymentStatus.SUCCEEDED),
    "dispute_lost": (EventType.DISPUTE_LOST, PaymentStatus.CHARGED_BACK),
    "dispute_accepted": (EventType.DISPUTE_LOST, PaymentStatus.CHARGED_BACK),
}


def normalize(envelope: BraintreeEnvelope, source: SourcePosition | None = None) -> NormalizedEvent:
    notification = envelope.payload
    subject = notification.subject
    kind = notification.kind
    if kind.startswith("transaction_"):
        if subject.transaction is None:
            raise MappingError.one(TRANSACTION, "missing", f"a {kind} notification without its transaction")
        fields = _transaction(kind, subject.transaction)
    elif kind.startswith("dispute_"):
        if subject.dispute is None:
            raise MappingError.one(DISPUTE, "missing", f"a {kind} notification without its dispute")
        fields = _dispute(kind, subject.dispute)
    else:
        raise unsupported("payload.kind", kind, "Braintree notification kind")
    fields["occurred_at"] = notification.timestamp
    return build(PROVIDER, envelope.provider_event_id, source, fields)


def _transaction(kind: str, txn: BraintreeTransaction) -> dict[str, Any]:
    credit = txn.type == "credit"
    try:
        event_type, status = (_CREDITS if credit else _SALES)[kind]
    except KeyError:
        raise unsupported("payload.kind", f"{kind} ({txn.type})", "Braintree notification kind") from None
    meta = lifted(txn.custom_fields)
    merchant = meta.pop("merchant_id", None) or txn.merchant_account_id
    fields: dict[str, Any] = {
        "event_type": event_type,
        "status": status,
        "amount_minor": major_amount(txn.amount, txn.currency_iso_code, f"{TRANSACTION}.amount"),
        "currency": txn.currency_iso_code,
        "merchant_id": require(merchant, f"{TRANSACTION}.merchant_account_id", "the merchant"),
        **meta,
    }
    if credit:
        sale = require(txn.refunded_transaction_id, f"{TRANSACTION}.refunded_transaction_id", "the refunded sale")
        fields["payment_id"] = payment_id_for(PROVIDER, sale)
        fields["refund_id"] = txn.id
    else:
        fields["payment_id"] = payment_id_for(PROVIDER, txn.id)
    customer = txn.customer_id or _nested_id(txn.model_extra, "customer")
    if customer and "customer_id" not in fields:
        fields["customer_id"] = customer
    if txn.credit_card is not None and txn.credit_card.unique_number_identifier:
        fields["card"] = _card(txn.credit_card)
    if event_type is EventType.PAYMENT_FAILED:
        fields.update(decline(PROVIDER, _decline_code(kind, txn)))
    return fields


def _decline_code(kind: str, txn: BraintreeTransaction) -> str | None:
    """A processor decline's code is the authorization's `processor_response_code`. A settlement
    decline's is `processor_settlement_response_code` (4000-class, "4001" Settlement Declined): the
    authorization of that sale was approved ("1000"), so its code says nothing about the decline.
    An empty settlement code (the element is there, without text) is a decline without a code."""
    if kind == "transaction_settlement_declined":
        return txn.processor_settlement_response_code or None
    return txn.processor_response_code


def _card(card: BraintreeCreditCard) -> dict[str, Any]:
    country = (card.country_of_issuance or "").strip()
    try:
        alpha2 = None if country.upper() in UNKNOWN_COUNTRY else alpha2_from_alpha3(country)
    except UnknownCountryError as exc:
        raise MappingError.one(f"{TRANSACTION}.credit_card.country_of_issuance", "unknown_country", str(exc)) from None
    return {
        "fingerprint": card.unique_number_identifier,
        "bin": card.bin,
        "last4": card.last_4,
        "brand": card.card_type,
        "country": alpha2,
    }


def _dispute(kind: str, dispute: BraintreeDispute) -> dict[str, Any]:
    try:
        event_type, status = _DISPUTES[kind]
    except KeyError:
        raise unsupported("payload.kind", kind, "Braintree notification kind") from None
    merchant = (dispute.model_extra or {}).get("merchant_account_id")
    return {
        "event_type": event_type,
        "status": status,
        "payment_id": payment_id_for(PROVIDER, dispute.transaction.id),
        "dispute_id": dispute.id,
        "dispute_reason": dispute.reason,
        "amount_minor": major_amount(dispute.amount, dispute.currency_iso_code, f"{DISPUTE}.amount"),
        "currency": dispute.currency_iso_code,
        "merchant_id": require(
            merchant if isinstance(merchant, str) else None, f"{DISPUTE}.merchant_account_id", "the merchant"
        ),
    }


def _nested_id(extra: dict[str, Any] | None, name: str) -> str | None:
    """`<customer><id>...</id></customer>`, which Braintree nests and the contract leaves unmodelled."""
    node = (extra or {}).get(name)
    value = node.get("id") if isinstance(node, dict) else None
    return value if isinstance(value, str) and value else None
