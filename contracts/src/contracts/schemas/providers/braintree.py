"""Braintree webhook notifications, parsed from the signed base64 XML `bt_payload`.

Braintree sends amounts as decimal strings in major units ("10.00"); `amount_minor` converts with
the currency's ISO exponent so that JPY and KWD come out right.
"""

import hashlib
import json
from decimal import Decimal
from typing import Annotated

from pydantic import Field, field_validator

from contracts.reference.currencies import to_minor_units
from contracts.schemas.base import Identifier, ProviderCurrencyCode, ProviderModel, UtcDatetime

SUPPORTED_KINDS: frozenset[str] = frozenset(
    {
        "transaction_settled",
        "transaction_settlement_declined",
        "transaction_authorized",
        "transaction_voided",
        "transaction_processor_declined",
        "dispute_opened",
        "dispute_won",
        "dispute_lost",
        "dispute_accepted",
    }
)

MajorAmount = Annotated[Decimal, Field(ge=0, max_digits=18, allow_inf_nan=False)]


class BraintreeCreditCard(ProviderModel):
    bin: Annotated[str, Field(pattern=r"^[0-9]{6,8}$")] | None = None
    last_4: Annotated[str, Field(pattern=r"^[0-9]{4}$")] | None = None
    card_type: str | None = None
    country_of_issuance: str | None = None
    unique_number_identifier: str | None = None
    expiration_month: str | None = None
    expiration_year: str | None = None


class BraintreeTransaction(ProviderModel):
    id: Identifier
    type: str = "sale"
    amount: MajorAmount
    currency_iso_code: ProviderCurrencyCode
    status: str
    customer_id: str | None = None
    merchant_account_id: str | None = None
    order_id: str | None = None
    processor_response_code: str | None = None
    processor_response_text: str | None = None
    processor_settlement_response_code: str | None = None
    """The processor's answer to the settlement (4000-class: "4001" Settlement Declined), the code
    of a `transaction_settlement_declined`; `processor_response_code` is the authorization's, which
    was approved. Real transactions carry the element, empty when there was no settlement answer.
    Since 1.5.0 (an unmodelled extra before; the content digest of `provider_event_id` is the same)."""
    processor_settlement_response_text: str | None = None
    gateway_rejection_reason: str | None = None
    refunded_transaction_id: str | None = None
    credit_card: BraintreeCreditCard | None = None
    custom_fields: dict[str, str] = Field(default_factory=dict)
    created_at: UtcDatetime | None = None
    """Optional: the Braintree SDK's own samples (`transaction_settled`,
    `transaction_settlement_declined`) omit `<created-at>`, and the SDK parses them."""
    updated_at: UtcDatetime | None = None

    @field_validator("custom_fields", mode="before")
    @classmethod
    def _empty_element_is_no_fields(cls, value: object) -> object:
        """An empty `<custom-fields/>` parses to "" (as in Braintree's SDK): it means no fields."""
        return {} if value == "" else value

    def amount_minor(self) -> int:
        return to_minor_units(self.amount, self.currency_iso_code)


class BraintreeDisputeTransaction(ProviderModel):
    id: Identifier
    amount: MajorAmount | None = None


class BraintreeDispute(ProviderModel):
    id: Identifier
    amount: MajorAmount
    currency_iso_code: ProviderCurrencyCode
    reason: str
    status: str
    kind: str = "chargeback"
    transaction: BraintreeDisputeTransaction
    received_date: str | None = None
    created_at: UtcDatetime | None = None

    def amount_minor(self) -> int:
        return to_minor_units(self.amount, self.currency_iso_code)


class BraintreeSubject(ProviderModel):
    transaction: BraintreeTransaction | None = None
    dispute: BraintreeDispute | None = None


class BraintreeNotification(ProviderModel):
    """A parsed `<notification>`: kind, timestamp and subject."""

    kind: Identifier
    timestamp: UtcDatetime
    subject: BraintreeSubject

    def provider_event_id(self) -> str:
        """Braintree sends no event id. Kind, subject id and timestamp (to the second) say what a
        notification is about but not which one: two `subscription_charged_unsuccessfully` in
        one second would share them. A digest of the whole notification's content tells every
        two different notifications apart, while a redelivery of the same one (the same
        content, however its XML was wrapped) keeps its id."""
        subject = self.subject.transaction or self.subject.dispute
        subject_id = subject.id if subject is not None else "none"
        return f"{self.kind}:{subject_id}:{self.timestamp.isoformat()}:{self.content_digest()}"

    def content_digest(self) -> str:
        """128 bits of SHA-256 over the fields the notification carried, as parsed (`raw()`), in
        canonical JSON (sorted keys). Not over every declared field: a contracts release that
        declares one more optional field would then change the id of every notification (its
        default joins the dump), and a redelivery across the upgrade would no longer be
        recognized as one. Since 1.4.0; the ids of 1.3.0 differ once (a redelivery that spans
        the upgrade is normalized again, with a new `event_id`). A field whose parsed form
        changes in a later release still changes the ids of notifications that carry it."""
        canonical = json.dumps(self.raw(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:32]
