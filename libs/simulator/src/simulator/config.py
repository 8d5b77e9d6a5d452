"""What a simulation run looks like: size, period, rates of fraud, failure, refunds and churn.

Rates are stated the way an evaluation measures them (share of payment attempts that are fraud,
share of successful fraud that is disputed, share of requests with a bad signature), so that tests
and users can check the output against the configuration directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, datetime

from contracts.reference.providers import Provider


@dataclass(frozen=True, slots=True)
class FraudMix:
    """How the fraud budget splits over the four patterns (relative weights)."""

    card_testing: float = 0.35
    account_takeover: float = 0.25
    velocity_abuse: float = 0.2
    friendly_fraud: float = 0.2

    def shares(self) -> dict[str, float]:
        total = sum(getattr(self, f.name) for f in fields(self))
        if total <= 0:
            raise ValueError("fraud mix weights must add up to more than zero")
        return {f.name: getattr(self, f.name) / total for f in fields(self)}


def _default_provider_shares() -> dict[Provider, float]:
    return {Provider.STRIPE: 0.4, Provider.SQUARE: 0.2, Provider.ADYEN: 0.2, Provider.BRAINTREE: 0.2}


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    seed: int = 42
    """Everything (world, traffic, ids, signatures in file mode) is a function of the seed."""
    customers: int = 1_000
    merchants: int | None = None
    """Defaults to one merchant per 50 customers (at least 20)."""
    days: int = 30
    start: datetime = datetime(2025, 1, 6, tzinfo=UTC)
    """First simulated day (00:00 UTC). New payments happen in [start, start + days)."""
    settle_days: int = 60
    """Follow-ups (refunds, disputes and their outcomes) are still reported this long after the
    period, as providers keep reporting disputes weeks after the payment."""
    payments_per_customer_day: float = 0.25
    """Mean of the customers' usual purchase rates (each customer has their own)."""
    provider_shares: dict[Provider, float] = field(default_factory=_default_provider_shares)
    """How merchants spread over the providers (each merchant uses one provider)."""

    fraud_rate: float = 0.02
    """Share of payment attempts (successful or not) that are fraudulent."""
    fraud_mix: FraudMix = field(default_factory=FraudMix)
    fraud_dispute_rate: float = 0.7
    """Share of successful stolen-card fraud (card testing, account takeover, velocity abuse) that
    the cardholder disputes. Friendly fraud is a dispute by definition, so it is always disputed."""
    legit_dispute_rate: float = 0.002
    """Share of successful legitimate payments disputed anyway (not received, duplicate, ...)."""
    decline_rate: float = 0.06
    """Base share of legitimate first attempts the issuer declines."""
    refund_rate: float = 0.03
    """Share of successful legitimate payments refunded (fully or partly) days later."""
    churn_rate: float = 0.05
    """Share of customers who stop paying during the period."""

    invalid_signature_share: float = 0.0
    """Share of all webhook requests sent with a bad signature (extra requests, labelled)."""
    malformed_share: float = 0.0
    """Share of all webhook requests that are correctly signed but break the provider's schema."""
    duplicate_share: float = 0.0
    """Share of all webhook requests that re-deliver an event already delivered: the same event
    (same ids, same payload), re-signed when it is sent again, seconds to an hour later, as
    providers do. The gateway must accept it; dedupe downstream must drop it."""

    def __post_init__(self) -> None:
        if self.customers < 1:
            raise ValueError("customers must be at least 1")
        if self.days < 1:
            raise ValueError("days must be at least 1")
        if self.settle_days < 0:
            raise ValueError("settle_days must not be negative")
        if self.start.tzinfo is None:
            raise ValueError("start must carry a UTC offset")
        if self.merchants is not None and self.merchants < 1:
            raise ValueError("merchants must be at least 1")
        if self.payments_per_customer_day <= 0:
            raise ValueError("payments_per_customer_day must be positive")
        for name in ("fraud_rate", "invalid_signature_share", "malformed_share", "duplicate_share"):
            value = getattr(self, name)
            if not 0 <= value < 1:
                raise ValueError(f"{name} must be in [0, 1)")
        for name in ("fraud_dispute_rate", "legit_dispute_rate", "decline_rate", "refund_rate", "churn_rate"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must be in [0, 1]")
        if self.invalid_signature_share + self.malformed_share + self.duplicate_share >= 1:
            raise ValueError("invalid_signature_share + malformed_share + duplicate_share must be below 1")
        if set(self.provider_shares) - set(Provider) or sum(self.provider_shares.values()) <= 0:
            raise ValueError("provider_shares must weigh known providers and add up to more than zero")
        if any(share < 0 for share in self.provider_shares.values()):
            raise ValueError("provider_shares must not be negative")
        self.fraud_mix.shares()

    @property
    def merchant_count(self) -> int:
        return self.merchants if self.merchants is not None else max(20, self.customers // 50)

    @property
    def start_ts(self) -> int:
        return int(self.start.timestamp())

    @property
    def end_ts(self) -> int:
        """End of the period in which new payments happen."""
        return self.start_ts + self.days * 86_400

    @property
    def horizon_ts(self) -> int:
        """Nothing is reported at or after this instant."""
        return self.end_ts + self.settle_days * 86_400
