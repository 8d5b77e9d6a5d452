"""The Kafka envelope the gateway publishes to `webhooks.<provider>.v1`.

One envelope per verified provider event (one per item of an Adyen batch). The payload is the
provider's own body, typed per provider; `PaymentEvent` is the union, discriminated by `provider`.
Signature headers are never part of the envelope.
"""

from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, TypeAdapter

from contracts.reference.providers import Provider
from contracts.schemas.base import ContractModel, Identifier, UtcDatetime
from contracts.schemas.providers.adyen import AdyenNotificationItem
from contracts.schemas.providers.braintree import BraintreeNotification
from contracts.schemas.providers.square import SquareEvent
from contracts.schemas.providers.stripe import StripeEvent


class _Envelope(ContractModel):
    envelope_id: UUID
    provider_event_id: Identifier
    event_type: Identifier
    received_at: UtcDatetime
    signature_key_id: Annotated[str, Field(max_length=64)] | None = None
    """Which configured secret verified the event (an index or label, never the secret)."""


class StripeEnvelope(_Envelope):
    contract_name = "stripe_envelope"
    provider: Literal[Provider.STRIPE] = Provider.STRIPE
    payload: StripeEvent


class SquareEnvelope(_Envelope):
    contract_name = "square_envelope"
    provider: Literal[Provider.SQUARE] = Provider.SQUARE
    payload: SquareEvent


class AdyenEnvelope(_Envelope):
    contract_name = "adyen_envelope"
    provider: Literal[Provider.ADYEN] = Provider.ADYEN
    live: bool = False
    payload: AdyenNotificationItem


class BraintreeEnvelope(_Envelope):
    contract_name = "braintree_envelope"
    provider: Literal[Provider.BRAINTREE] = Provider.BRAINTREE
    payload: BraintreeNotification


PaymentEvent = Annotated[
    StripeEnvelope | SquareEnvelope | AdyenEnvelope | BraintreeEnvelope, Field(discriminator="provider")
]

PAYMENT_EVENT_ADAPTER: TypeAdapter[PaymentEvent] = TypeAdapter(PaymentEvent)

ENVELOPES: dict[Provider, type[_Envelope]] = {
    Provider.STRIPE: StripeEnvelope,
    Provider.SQUARE: SquareEnvelope,
    Provider.ADYEN: AdyenEnvelope,
    Provider.BRAINTREE: BraintreeEnvelope,
}


def parse_payment_event(data: bytes | str) -> PaymentEvent:
    """Decode a Kafka value into the provider's envelope; raises `pydantic.ValidationError`."""
    return PAYMENT_EVENT_ADAPTER.validate_json(data)
