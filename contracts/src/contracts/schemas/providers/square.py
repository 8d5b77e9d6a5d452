"""Square webhook events for payments, refunds and disputes.

Square signs notification URL + raw body; amounts are `Money` objects in minor units.
"""

from typing import Annotated, Literal

from pydantic import Field

from contracts.schemas.base import Identifier, MinorAmount, ProviderCurrencyCode, ProviderModel, UtcDatetime

SUPPORTED_EVENT_TYPES: frozenset[str] = frozenset(
    {
        "payment.created",
        "payment.updated",
        "refund.created",
        "refund.updated",
        "dispute.created",
        "dispute.state.updated",
    }
)


class SquareMoney(ProviderModel):
    amount: MinorAmount
    currency: ProviderCurrencyCode


class SquareCard(ProviderModel):
    card_brand: str
    last_4: Annotated[str, Field(pattern=r"^[0-9]{4}$")]
    exp_month: Annotated[int, Field(ge=1, le=12)] | None = None
    exp_year: Annotated[int, Field(ge=1970, le=2100)] | None = None
    fingerprint: str | None = None
    card_type: str | None = None
    prepaid_type: str | None = None
    bin: Annotated[str, Field(pattern=r"^[0-9]{6,8}$")] | None = None


class SquareError(ProviderModel):
    code: str
    category: str
    detail: str | None = None


class SquareCardDetails(ProviderModel):
    status: Literal["AUTHORIZED", "CAPTURED", "VOIDED", "FAILED"]
    card: SquareCard
    entry_method: str | None = None
    cvv_status: str | None = None
    avs_status: str | None = None
    errors: list[SquareError] = Field(default_factory=list)


class SquarePayment(ProviderModel):
    id: Identifier
    created_at: UtcDatetime
    updated_at: UtcDatetime
    amount_money: SquareMoney
    total_money: SquareMoney | None = None
    status: Literal["APPROVED", "PENDING", "COMPLETED", "CANCELED", "FAILED"]
    source_type: str
    card_details: SquareCardDetails | None = None
    location_id: str | None = None
    order_id: str | None = None
    customer_id: str | None = None
    reference_id: str | None = None
    note: str | None = None
    version: int | None = None


class SquareRefund(ProviderModel):
    id: Identifier
    status: Literal["PENDING", "COMPLETED", "REJECTED", "FAILED"]
    amount_money: SquareMoney
    payment_id: Identifier
    created_at: UtcDatetime
    updated_at: UtcDatetime | None = None
    reason: str | None = None
    location_id: str | None = None


class SquareDisputedPayment(ProviderModel):
    payment_id: Identifier


class SquareDispute(ProviderModel):
    id: Identifier
    amount_money: SquareMoney
    reason: str
    state: Literal[
        "INQUIRY_EVIDENCE_REQUIRED",
        "INQUIRY_PROCESSING",
        "INQUIRY_CLOSED",
        "EVIDENCE_REQUIRED",
        "PROCESSING",
        "WON",
        "LOST",
        "ACCEPTED",
    ]
    disputed_payment: SquareDisputedPayment
    card_brand: str | None = None
    created_at: UtcDatetime
    updated_at: UtcDatetime | None = None


class SquarePaymentObject(ProviderModel):
    payment: SquarePayment


class SquareRefundObject(ProviderModel):
    refund: SquareRefund


class SquareDisputeObject(ProviderModel):
    dispute: SquareDispute


class SquarePaymentData(ProviderModel):
    type: Literal["payment"]
    id: Identifier
    object: SquarePaymentObject


class SquareRefundData(ProviderModel):
    type: Literal["refund"]
    id: Identifier
    object: SquareRefundObject


class SquareDisputeData(ProviderModel):
    type: Literal["dispute"]
    id: Identifier
    object: SquareDisputeObject


SquareEventData = Annotated[SquarePaymentData | SquareRefundData | SquareDisputeData, Field(discriminator="type")]


class SquareEvent(ProviderModel):
    """A Square webhook notification."""

    merchant_id: Identifier
    type: Identifier
    event_id: Identifier
    created_at: UtcDatetime
    data: SquareEventData

    def provider_event_id(self) -> str:
        return self.event_id
