"""Stripe webhook events (`Event` objects) for payments, charges, refunds and disputes.

Stripe signs the raw JSON body; these models describe what we read from it. Currencies are lower
case on the wire, and amounts are integers in Stripe's minor units: ISO's, except for the
currencies in `contracts.reference.currencies.PROVIDER_EXPONENTS` (ISK, MGA). Read them with
`provider_to_minor_units`.
"""

from typing import Annotated, Any, Literal

from pydantic import Field

from contracts.schemas.base import Identifier, MinorAmount, ProviderCurrencyCode, ProviderModel

SUPPORTED_EVENT_TYPES: frozenset[str] = frozenset(
    {
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.canceled",
        "payment_intent.amount_capturable_updated",
        "charge.succeeded",
        "charge.failed",
        "charge.captured",
        "charge.refunded",
        "charge.dispute.created",
        "charge.dispute.closed",
        "refund.created",
        "refund.updated",
    }
)


class StripeCard(ProviderModel):
    brand: str
    country: str | None = None
    last4: Annotated[str, Field(pattern=r"^[0-9]{4}$")]
    fingerprint: str | None = None
    exp_month: Annotated[int, Field(ge=1, le=12)]
    exp_year: Annotated[int, Field(ge=1970, le=2100)]
    funding: str | None = None
    iin: str | None = None


class StripePaymentMethodDetails(ProviderModel):
    type: str
    card: StripeCard | None = None


class StripeOutcome(ProviderModel):
    network_status: str | None = None
    reason: str | None = None
    risk_level: str | None = None
    risk_score: int | None = None
    type: str


class StripePaymentError(ProviderModel):
    type: str
    code: str | None = None
    decline_code: str | None = None
    message: str | None = None


class StripePaymentIntent(ProviderModel):
    id: Annotated[str, Field(pattern=r"^pi_[A-Za-z0-9]+$")]
    object: Literal["payment_intent"]
    amount: MinorAmount
    amount_received: MinorAmount = 0
    currency: ProviderCurrencyCode
    status: Literal[
        "requires_payment_method",
        "requires_confirmation",
        "requires_action",
        "processing",
        "requires_capture",
        "canceled",
        "succeeded",
    ]
    created: int
    customer: str | None = None
    payment_method: str | None = None
    latest_charge: str | None = None
    last_payment_error: StripePaymentError | None = None
    cancellation_reason: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    livemode: bool = False


class StripeCharge(ProviderModel):
    id: Annotated[str, Field(pattern=r"^(ch|py)_[A-Za-z0-9]+$")]
    object: Literal["charge"]
    amount: MinorAmount
    amount_captured: MinorAmount = 0
    amount_refunded: MinorAmount = 0
    currency: ProviderCurrencyCode
    status: Literal["succeeded", "pending", "failed"]
    captured: bool
    refunded: bool = False
    paid: bool = False
    payment_intent: str | None = None
    customer: str | None = None
    created: int
    failure_code: str | None = None
    failure_message: str | None = None
    outcome: StripeOutcome | None = None
    payment_method_details: StripePaymentMethodDetails | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    livemode: bool = False


class StripeRefund(ProviderModel):
    id: Annotated[str, Field(pattern=r"^(re|pyr)_[A-Za-z0-9]+$")]
    object: Literal["refund"]
    amount: MinorAmount
    currency: ProviderCurrencyCode
    charge: str | None = None
    payment_intent: str | None = None
    status: Literal["pending", "requires_action", "succeeded", "failed", "canceled"]
    reason: str | None = None
    created: int
    metadata: dict[str, str] = Field(default_factory=dict)


class StripeDispute(ProviderModel):
    id: Annotated[str, Field(pattern=r"^(dp|du)_[A-Za-z0-9]+$")]
    object: Literal["dispute"]
    amount: MinorAmount
    currency: ProviderCurrencyCode
    charge: str
    payment_intent: str | None = None
    reason: str
    status: Literal[
        "warning_needs_response",
        "warning_under_review",
        "warning_closed",
        "needs_response",
        "under_review",
        "won",
        "lost",
        "prevented",  # resolved before it became a dispute (e.g. Visa's Rapid Dispute Resolution)
    ]
    created: int
    metadata: dict[str, str] = Field(default_factory=dict)
    livemode: bool = False


StripeObject = Annotated[
    StripePaymentIntent | StripeCharge | StripeRefund | StripeDispute, Field(discriminator="object")
]


class StripeEventData(ProviderModel):
    object: StripeObject
    previous_attributes: dict[str, Any] | None = None


class StripeEvent(ProviderModel):
    """A Stripe `Event`, the body of every webhook delivery."""

    id: Annotated[str, Field(pattern=r"^evt_[A-Za-z0-9]+$")]
    object: Literal["event"]
    api_version: str | None = None
    created: int
    livemode: bool = False
    pending_webhooks: int = 0
    type: Identifier
    data: StripeEventData

    def provider_event_id(self) -> str:
        return self.id
