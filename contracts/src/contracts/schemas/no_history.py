"""No-history values: what each feature is for an entity never seen before.

A first event of a customer, card or merchant has no past to aggregate. The warehouse (dbt
feature models) writes these values for first events, and inference uses them when the online
store answers NOT_FOUND for an unknown entity, so a first-seen card, the riskiest traffic, is
scored with the same numbers the model was trained on.

Context features are not history: they describe the payment itself and come with the request
(`FRAUD_CONTEXT_FEATURES`). The one among them that depends on history,
`amount_to_customer_avg_ratio`, is 1 when the customer has no 30-day average.
"""

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from contracts.schemas.features import CHURN_FEATURE_NAMES, FRAUD_FEATURE_NAMES

FRAUD_CONTEXT_FEATURES: Final[tuple[str, ...]] = (
    "amount_usd",
    "hour_of_day",
    "is_foreign_card",
    "amount_to_customer_avg_ratio",
)
"""Fraud features derived from the payment itself, never read from the feature store."""

FRAUD_STORED_FEATURES: Final[tuple[str, ...]] = tuple(
    name for name in FRAUD_FEATURE_NAMES if name not in FRAUD_CONTEXT_FEATURES
)
"""Fraud features served by the feature store (`fraud_v1`), in contract order."""

RATIO_WITHOUT_AVERAGE: Final = 1.0
"""`amount_to_customer_avg_ratio` when the customer has no 30-day average (no history)."""

FRAUD_NO_HISTORY: Final[Mapping[str, float]] = MappingProxyType(
    {
        # Everything about the customer and the card is new.
        "is_new_card_for_customer": 1.0,
        "is_new_country_for_customer": 1.0,
        "customer_txn_count_1h": 0.0,
        "customer_txn_count_24h": 0.0,
        "customer_amount_usd_24h": 0.0,
        "customer_avg_amount_usd_30d": 0.0,
        "card_txn_count_1h": 0.0,
        "card_distinct_merchants_24h": 0.0,
        "card_decline_count_24h": 0.0,
        "customer_distinct_cards_7d": 0.0,
        "customer_tenure_days": 0.0,
        "customer_dispute_count_90d": 0.0,
        # A merchant with no payments yet has no disputed share.
        "merchant_risk_score": 0.0,
    }
)
"""Value of every stored fraud feature for an entity with no history."""

CHURN_NO_HISTORY: Final[Mapping[str, float]] = MappingProxyType(
    {
        # No earlier payment: the gap is counted from the customer's first sight, like the tenure.
        "days_since_last_payment": 0.0,
        "payments_30d": 0.0,
        "payments_90d": 0.0,
        "failed_payments_30d": 0.0,
        "refunds_90d": 0.0,
        "disputes_90d": 0.0,
        "avg_amount_usd_90d": 0.0,
        "tenure_days": 0.0,
    }
)
"""Value of every churn feature for a customer with no history."""

if tuple(FRAUD_NO_HISTORY) != FRAUD_STORED_FEATURES:
    raise RuntimeError("FRAUD_NO_HISTORY must list the stored fraud features in contract order")
if tuple(CHURN_NO_HISTORY) != CHURN_FEATURE_NAMES:
    raise RuntimeError("CHURN_NO_HISTORY must list the churn features in contract order")
