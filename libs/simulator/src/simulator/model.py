"""The simulation's own, provider-neutral record of what happened: payments and their follow-ups.

Behaviours produce `Payment`s (one per attempt, with the outcome the issuer gave), refunds and
disputes hang off the payment they concern, and the engine turns them into a time-ordered stream
of `SimEvent`s that the provider adapters render as webhooks. The fraud pattern lives here, on the
payment, and goes only to the ground-truth output: no adapter reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from contracts.reference.decline_codes import DeclineCategory
from contracts.reference.providers import Provider
from contracts.schemas.normalized_event import EventType
from simulator.world import Card, Merchant


class Pattern(StrEnum):
    """Why a payment happened, as the evaluation needs to know and the platform must not."""

    LEGIT = "legit"
    CARD_TESTING = "card_testing"
    ACCOUNT_TAKEOVER = "account_takeover"
    VELOCITY_ABUSE = "velocity_abuse"
    FRIENDLY_FRAUD = "friendly_fraud"


class DisputeReason(StrEnum):
    """Provider-neutral dispute reasons; each adapter maps them to its provider's vocabulary."""

    FRAUDULENT = "fraudulent"
    UNRECOGNIZED = "unrecognized"
    PRODUCT_NOT_RECEIVED = "product_not_received"
    DUPLICATE = "duplicate"
    CREDIT_NOT_PROCESSED = "credit_not_processed"


@dataclass(slots=True)
class Refund:
    at: int
    amount_minor: int


@dataclass(slots=True)
class Dispute:
    opened_at: int
    reason: DisputeReason
    closed_at: int
    merchant_won: bool


@dataclass(slots=True, eq=False)
class Payment:
    """One payment attempt. A retry is a new attempt that points at the first one (`retry_of`)."""

    created_at: int
    customer_id: str
    merchant: Merchant
    card: Card
    device_id: str
    ip_country: str
    amount_minor: int
    succeeded: bool
    decline_code: str | None = None
    """The provider's own code (from `contracts.reference.decline_codes`) when declined."""
    decline_category: DeclineCategory | None = None
    pattern: Pattern = Pattern.LEGIT
    incident: str | None = None
    """Groups the attempts of one fraud incident (a card-testing burst, one takeover, ...)."""
    attempt: int = 1
    retry_of: Payment | None = None
    refund: Refund | None = None
    dispute: Dispute | None = None
    index: int = -1
    """Position in the run's time order, set by the engine; ids are derived from it."""

    @property
    def provider(self) -> Provider:
        return self.merchant.provider

    @property
    def currency(self) -> str:
        return self.merchant.country.currency

    @property
    def is_fraud(self) -> bool:
        return self.pattern is not Pattern.LEGIT


PAYMENT_LAG_SECONDS = 2
"""Providers report a payment's outcome a moment after the attempt."""


@dataclass(slots=True, eq=False)
class SimEvent:
    """One thing a provider reports: a payment outcome, a refund, a dispute opening or closing."""

    at: int
    kind: EventType
    payment: Payment
    seq: int = -1
