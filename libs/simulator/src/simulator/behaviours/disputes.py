"""Disputes arrive days or weeks after the payment, as card networks report them.

This delay is why the platform's labels lag its traffic: a model trained today sees only the fraud
that has already been disputed. Stolen-card fraud is disputed by the real cardholder within a few
weeks and the merchant rarely wins; friendly fraud comes later and is won more often; a few
honest customers dispute too (not received, charged twice), which keeps disputes from being a
perfect fraud label.
"""

from __future__ import annotations

import random

from simulator.model import Dispute, DisputeReason, Pattern, Payment

DAY = 86_400

_FRIENDLY_REASONS = (DisputeReason.FRAUDULENT, DisputeReason.PRODUCT_NOT_RECEIVED, DisputeReason.UNRECOGNIZED)
_FRIENDLY_WEIGHTS = (40, 35, 25)
_LEGIT_REASONS = (DisputeReason.PRODUCT_NOT_RECEIVED, DisputeReason.DUPLICATE, DisputeReason.CREDIT_NOT_PROCESSED)
_LEGIT_WEIGHTS = (50, 25, 25)


def open_dispute(rng: random.Random, payment: Payment) -> Dispute:
    """The dispute the cardholder files for `payment` (already decided to happen)."""
    if payment.pattern is Pattern.FRIENDLY_FRAUD:
        reason = rng.choices(_FRIENDLY_REASONS, weights=_FRIENDLY_WEIGHTS)[0]
        delay_days = min(55.0, 8 + rng.lognormvariate(2.8, 0.4))
        merchant_win = 0.4
    elif payment.is_fraud:
        reason = DisputeReason.FRAUDULENT
        delay_days = min(45.0, 1 + rng.lognormvariate(2.2, 0.5))
        merchant_win = 0.1
    else:
        reason = rng.choices(_LEGIT_REASONS, weights=_LEGIT_WEIGHTS)[0]
        delay_days = min(50.0, 3 + rng.lognormvariate(2.4, 0.5))
        merchant_win = 0.6
    opened_at = payment.created_at + int(delay_days * DAY)
    closed_at = opened_at + rng.randint(10 * DAY, 45 * DAY)
    return Dispute(opened_at=opened_at, reason=reason, closed_at=closed_at, merchant_won=rng.random() < merchant_win)


def maybe_dispute(rng: random.Random, payment: Payment, rate: float) -> None:
    """Attach a dispute to a successful `payment` with probability `rate`."""
    if payment.succeeded and rng.random() < rate:
        payment.dispute = open_dispute(rng, payment)
