"""One provider-neutral event per provider event: what every downstream consumer reads.

Amounts are integers in ISO minor units, times are UTC, statuses come from one vocabulary, and
`payment_id` is provider-qualified so that ids from two providers never collide.
"""

from enum import StrEnum
from typing import Annotated
from uuid import UUID, uuid5

from pydantic import Field

from contracts.reference.decline_codes import DeclineCategory
from contracts.reference.providers import Provider
from contracts.schemas.base import ContractModel, CurrencyCode, Identifier, MinorAmount, UtcDatetime

EVENT_ID_NAMESPACE = UUID("6f1c0c8e-8a51-4c55-9a43-3b7f0f6d2a10")
"""Namespace of the deterministic event ids: the same provider event always gets the same id."""


class EventType(StrEnum):
    PAYMENT_AUTHORIZED = "payment.authorized"
    PAYMENT_CAPTURED = "payment.captured"
    PAYMENT_SUCCEEDED = "payment.succeeded"
    PAYMENT_FAILED = "payment.failed"
    PAYMENT_CANCELED = "payment.canceled"
    REFUND_SUCCEEDED = "refund.succeeded"
    REFUND_FAILED = "refund.failed"
    DISPUTE_OPENED = "dispute.opened"
    DISPUTE_WON = "dispute.won"
    DISPUTE_LOST = "dispute.lost"


class PaymentStatus(StrEnum):
    PENDING = "pending"
    AUTHORIZED = "authorized"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"
    DISPUTED = "disputed"
    CHARGED_BACK = "charged_back"


class CardInfo(ContractModel):
    """Card facts that are safe to keep: never the PAN, only fingerprint, BIN and last four."""

    fingerprint: Identifier
    bin: Annotated[str, Field(pattern=r"^[0-9]{6,8}$")] | None = None
    last4: Annotated[str, Field(pattern=r"^[0-9]{4}$")] | None = None
    brand: str | None = None
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None


class SourcePosition(ContractModel):
    """Where a message was read from, for tracing and dead-letter triage."""

    topic: Identifier
    partition: Annotated[int, Field(ge=0)]
    offset: Annotated[int, Field(ge=0)]


class NormalizedEvent(ContractModel):
    contract_name = "normalized_event"

    event_id: UUID
    provider: Provider
    provider_event_id: Identifier
    event_type: EventType
    payment_id: Identifier
    status: PaymentStatus
    amount_minor: MinorAmount
    currency: CurrencyCode
    occurred_at: UtcDatetime
    merchant_id: Identifier
    customer_id: Identifier | None = None
    card: CardInfo | None = None
    decline_code: str | None = None
    decline_category: DeclineCategory | None = None
    refund_id: str | None = None
    dispute_id: str | None = None
    dispute_reason: str | None = None
    ip_country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None
    device_id: str | None = None
    merchant_category: Annotated[str, Field(pattern=r"^[0-9]{4}$")] | None = None
    source: SourcePosition | None = None


def event_id_for(provider: Provider, provider_event_id: str) -> UUID:
    """The deterministic id of a provider event, so redelivery maps to the same id everywhere."""
    return uuid5(EVENT_ID_NAMESPACE, f"{provider.value}:{provider_event_id}")


def payment_id_for(provider: Provider, provider_payment_id: str) -> str:
    return f"{provider.value}:{provider_payment_id}"


METADATA_KEYS: tuple[str, ...] = ("customer_id", "merchant_id", "device_id", "ip_country", "merchant_category")
"""Keys merchants put in provider metadata (Stripe `metadata`, Adyen `additionalData.metadata.*`,
Braintree `custom_fields`) that the normalizer lifts into the event."""
