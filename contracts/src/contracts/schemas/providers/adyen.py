"""Adyen standard notifications: a batch of items, each signed on its own.

Adyen's HMAC covers eight fields of each item (see the gateway); the item, not the batch, is the
unit we publish. Field names are Adyen's camelCase, kept through aliases.
"""

from typing import Annotated, Literal

from pydantic import Field

from contracts.schemas.base import Identifier, MinorAmount, ProviderCurrencyCode, ProviderModel, UtcDatetime

SUPPORTED_EVENT_CODES: frozenset[str] = frozenset(
    {
        "AUTHORISATION",
        "CAPTURE",
        "CAPTURE_FAILED",
        "CANCELLATION",
        "REFUND",
        "REFUND_FAILED",
        "NOTIFICATION_OF_CHARGEBACK",
        "CHARGEBACK",
        "CHARGEBACK_REVERSED",
        "SECOND_CHARGEBACK",
    }
)


class AdyenAmount(ProviderModel):
    """`value` is in Adyen's minor units: ISO's, except for CLP, CVE, IDR and ISK
    (`contracts.reference.currencies.PROVIDER_EXPONENTS`); read it with `provider_to_minor_units`."""

    value: MinorAmount
    currency: ProviderCurrencyCode


class AdyenNotificationItem(ProviderModel):
    additional_data: dict[str, str] | None = Field(default=None, alias="additionalData")
    amount: AdyenAmount
    event_code: Identifier = Field(alias="eventCode")
    event_date: UtcDatetime = Field(alias="eventDate")
    merchant_account_code: Identifier = Field(alias="merchantAccountCode")
    merchant_reference: str = Field(alias="merchantReference")
    original_reference: str | None = Field(default=None, alias="originalReference")
    psp_reference: Identifier = Field(alias="pspReference")
    payment_method: str | None = Field(default=None, alias="paymentMethod")
    reason: str | None = None
    success: Literal["true", "false"]
    operations: list[str] | None = None

    def provider_event_id(self) -> str:
        """Adyen has no event id: (pspReference, eventCode, success) identifies a notification."""
        return f"{self.psp_reference}:{self.event_code}:{self.success}"


class AdyenNotificationRequestItem(ProviderModel):
    item: AdyenNotificationItem = Field(alias="NotificationRequestItem")


class AdyenNotification(ProviderModel):
    """The body Adyen POSTs: `live` plus one or more notification items."""

    live: Literal["true", "false"]
    notification_items: Annotated[list[AdyenNotificationRequestItem], Field(min_length=1)] = Field(
        alias="notificationItems"
    )
